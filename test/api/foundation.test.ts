import { Readable } from 'node:stream';
import { gunzipSync, gzipSync } from 'node:zlib';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { sql } from 'kysely';
import { Type } from 'typebox';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

// A probe route with a body schema, so the HTTP core's answers to bad bodies can be checked
// before any capability route exists. Real routes are held to the same answers in their suites.
const probeRoutes = {
  extraApiRoutes: (api: FastifyInstance) => {
    api.post(
      '/probe',
      {
        schema: {
          body: Type.Object(
            { name: Type.String({ minLength: 1, maxLength: 10 }), count: Type.Integer({ minimum: 0 }) },
            { additionalProperties: false },
          ),
        },
      },
      async (request) => ({ echo: request.body }),
    );
    api.get('/probe', async () => ({ ok: true, padding: 'x'.repeat(4000) }));
    // Hands the text to the database as it came (no check of its own on the way in).
    api.post('/probe/store', { schema: { body: Type.Object({ text: Type.String(), as: Type.Union([Type.Literal('text'), Type.Literal('jsonb')]) }) } }, async (request) => {
      const { text, as } = request.body as { text: string; as: 'text' | 'jsonb' };
      await storeInDatabase(text, as);
      return { ok: true };
    });
    // Two routes from one options object, the way a module registers its guarded routes.
    api.get('/probe/shared-a', sharedOptions, async () => ({ ok: true }));
    api.get('/probe/shared-b', sharedOptions, async () => ({ ok: true }));
    api.get('/probe/slow', async () => {
      // At least 30 ms by the clock the metrics use: a timer alone can fire a little early
      // against it (libuv measures from the loop's cached time), which made the sum of two
      // such requests 59.8 ms when the loop was busy.
      const start = performance.now();
      while (performance.now() - start < 30) await new Promise((resolve) => setTimeout(resolve, 30 - (performance.now() - start)));
      return { ok: true };
    });
    api.get('/probe/stream', async (_request, reply) => reply.type('text/plain').send(Readable.from([Buffer.from('streamed')])));
  },
};
let storeInDatabase: (text: string, as: 'text' | 'jsonb') => Promise<unknown> = async () => undefined;
let sharedHookRuns = 0;
function countingHook(_request: unknown, _reply: unknown, done: () => void) {
  sharedHookRuns++;
  done();
}
const sharedOptions = { onRequest: [countingHook] };

function expectProblem(res: { statusCode: number; headers: Record<string, unknown>; body: string }, status: number, code: string) {
  expect(res.statusCode).toBe(status);
  expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
  const body = JSON.parse(res.body) as Record<string, unknown>;
  expect(body).toMatchObject({ status, code, type: `urn:tessera:problem:${code}` });
  expect(typeof body.title).toBe('string');
  expect(body.request_id).toBe(res.headers['x-request-id']);
  expect(res.body).not.toMatch(/at .*\.(ts|js):\d+|node_modules|\/work\//); // no stack, no paths
  return body;
}

describe(`HTTP core (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp(probeRoutes);
    const db = t.container.database.db;
    storeInDatabase = (text, as) => (as === 'text' ? sql`select ${text}::text as v` : sql`select ${text}::jsonb as v`).execute(db);
  });
  afterAll(() => t?.close());

  it('GET /health is liveness without I/O: healthy and the version', async () => {
    const res = await t.app.inject('/health');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({ status: 'healthy', version: t.config.version });
  });

  it('GET /ready reports each dependency', async () => {
    const res = await t.app.inject('/ready');
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'ready',
      database: 'ok',
      redis: BACKEND === 'postgres' ? 'ok' : 'disabled',
      storage: 'ok',
    });
  });

  it('every response carries X-Request-Id; a valid incoming one is kept, garbage and huge ones replaced', async () => {
    const kept = await t.app.inject({ url: '/health', headers: { 'x-request-id': 'abc-123_ok' } });
    expect(kept.headers['x-request-id']).toBe('abc-123_ok');
    for (const bad of ['<script>alert(1)</script>', 'a b c', 'x'.repeat(10_000), '../../etc']) {
      const res = await t.app.inject({ url: '/health', headers: { 'x-request-id': bad } });
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
    const missing = await t.app.inject('/nope');
    expect(missing.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
  });

  it('unknown route: 404 problem; known path, wrong method: 405 with Allow', async () => {
    expectProblem(await t.app.inject('/api/v1/does-not-exist'), 404, 'not_found');
    const res = await t.app.inject({ method: 'DELETE', url: '/health' });
    expectProblem(res, 405, 'method_not_allowed');
    expect(res.headers.allow).toBe('GET');
  });

  it('path traversal attempts are plain 404s', async () => {
    for (const url of ['/..%2f..%2fetc/passwd', '/%2e%2e/%2e%2e/etc/passwd', '/uploads/..%2f..%2fpackage.json', '/api/v1/../../etc/passwd']) {
      const res = await t.app.inject(url);
      expect([400, 404]).toContain(res.statusCode);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
      expect(res.body).not.toContain('root:');
    }
  });

  it('a NUL (%00) anywhere in the URL is a 400 problem before any route runs (PostgreSQL text cannot hold one)', async () => {
    // GET /users?q=%00 once reached the search query and answered 500.
    for (const url of ['/api/v1/users?q=a%00', '/api/v1/users?q=a&cursor=%00', '/api/v1/users/%00/profile', '/api/v1/files/a%00b', '/api/v1/probe%00', '/health?x=%00']) {
      const body = expectProblem(await t.app.inject(url), 400, 'bad_request');
      expect(body.detail).toMatch(/%00/);
    }
    // %0 followed by other digits is an ordinary escape.
    expect((await t.app.inject('/api/v1/users?q=a%01')).statusCode).toBe(200);
  });

  it("what Fastify answers before routing is problem+json too: a bad percent-encoding 400, an over-long path segment 414", async () => {
    for (const url of ['/api/v1/users/%zz/profile', '/api/v1/users/%E0%A4%A/profile']) {
      const body = expectProblem(await t.app.inject(url), 400, 'bad_request');
      expect(body.detail).toMatch(/percent-encoded/);
    }
    const long = await t.app.inject(`/api/v1/users/${'a'.repeat(300)}/profile`);
    expectProblem(long, 414, 'uri_too_long');
    expect(long.headers['x-content-type-options']).toBe('nosniff');
    // 200 characters is still routed: the route's own answer (the id is not one).
    const routed = await t.app.inject(`/api/v1/users/${'a'.repeat(200)}/profile`);
    expect([404, 422]).toContain(routed.statusCode);
    expect(routed.headers['content-type']).toMatch(/^application\/problem\+json/);
  });

  it('text the database refuses (a NUL in text, \\u0000 in jsonb) that no check caught is a 400 problem, not a 500', async () => {
    const store = (text: string, as: string) => t.app.inject({ method: 'POST', url: '/api/v1/probe/store', payload: { text, as } });
    expect((await store('fine', 'text')).statusCode).toBe(200);
    expectProblem(await store('a\u0000b', 'text'), 400, 'bad_request');
    expectProblem(await store('{"a":"\\u0000"}', 'jsonb'), 400, 'bad_request');
    expect((await store('{"a":"\\u0001"}', 'jsonb')).statusCode).toBe(200);
  });

  it('malformed JSON is 400 malformed_json', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/probe', headers: { 'content-type': 'application/json' }, payload: '{"name": "a",' });
    expectProblem(res, 400, 'malformed_json');
  });

  it('a wrong media type is 415', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/probe', headers: { 'content-type': 'application/xml' }, payload: '<a/>' });
    expectProblem(res, 415, 'unsupported_media_type');
  });

  it('a 10 MB body is 413 and the process keeps serving', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/probe',
      headers: { 'content-type': 'application/json' },
      payload: JSON.stringify({ name: 'x'.repeat(10 * 1024 * 1024) }),
    });
    expectProblem(res, 413, 'payload_too_large');
    expect((await t.app.inject('/health')).statusCode).toBe(200);
  });

  it('a compressed request body (a gzip bomb) is 415 before any of it is read; identity is fine', async () => {
    const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024, 0x20)); // 64 MB of spaces in ~64 KB
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/probe', headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' }, payload: bomb });
    expectProblem(res, 415, 'unsupported_media_type');
    // However it is spelled or listed: any coding but identity is refused.
    for (const coding of ['GZIP', 'identity, gzip', ' br ']) {
      const listed = await t.app.inject({ method: 'POST', url: '/api/v1/probe', headers: { 'content-type': 'application/json', 'content-encoding': coding }, payload: bomb });
      expectProblem(listed, 415, 'unsupported_media_type');
    }
    const identity = await t.app.inject({ method: 'POST', url: '/api/v1/probe', headers: { 'content-type': 'application/json', 'content-encoding': 'identity' }, payload: { name: 'ok', count: 1 } });
    expect(identity.statusCode).toBe(200);
    expect((await t.app.inject('/health')).statusCode).toBe(200);
  });

  it('validation is 422 with field-level errors: wrong types are not coerced, unknown keys refused', async () => {
    const res = await t.app.inject({ method: 'POST', url: '/api/v1/probe', payload: { name: 'x'.repeat(11), count: '3', extra: true } });
    const body = expectProblem(res, 422, 'validation_failed');
    const fields = (body.errors as { field: string }[]).map((e) => e.field).sort();
    expect(fields).toEqual(['count', 'extra', 'name']);
    const ok = await t.app.inject({ method: 'POST', url: '/api/v1/probe', payload: { name: 'ok', count: 3 } });
    expect(ok.json()).toEqual({ echo: { name: 'ok', count: 3 } });
  });

  it('security headers: nosniff, frame deny, CSP; no HSTS outside production', async () => {
    const res = await t.app.inject('/health');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-frame-options']).toBe('DENY');
    expect(res.headers['content-security-policy']).toBe("default-src 'none'; frame-ancestors 'none'");
    expect(res.headers['strict-transport-security']).toBeUndefined();
  });

  it('routes sharing one options object each get their own hook list: plugin hooks do not pile up', async () => {
    // @fastify/compress pushes its onRequest hook into the route's array; without a copy per
    // route, the second route ran it twice, the tenth ten times.
    expect(sharedOptions.onRequest).toEqual([countingHook]);
    const routes = t.app.printRoutes({ includeHooks: true, commonPrefix: false });
    const lists = [...routes.matchAll(/\(onRequest\) (\[.*\])/g)].map((m) => JSON.parse(m[1]!) as string[]);
    expect(lists.length).toBeGreaterThan(50);
    for (const list of lists) expect(list.filter((name) => name === 'onRequest()').length).toBeLessThanOrEqual(1);
    sharedHookRuns = 0;
    expect((await t.app.inject('/api/v1/probe/shared-b')).statusCode).toBe(200);
    expect(sharedHookRuns).toBe(1);
  });

  it('bodies over 1 KB are compressed with br or gzip; small ones are not', async () => {
    const br = await t.app.inject({ url: '/api/v1/probe', headers: { 'accept-encoding': 'br' } });
    expect(br.headers['content-encoding']).toBe('br');
    const gz = await t.app.inject({ url: '/api/v1/probe', headers: { 'accept-encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    const small = await t.app.inject({ url: '/health', headers: { 'accept-encoding': 'gzip, br' } });
    expect(small.headers['content-encoding']).toBeUndefined();
    const smallApi = await t.app.inject({ url: '/api/v1/probe/shared-a', headers: { 'accept-encoding': 'gzip, br' } });
    expect(smallApi.headers['content-encoding']).toBeUndefined();
    expect(smallApi.json()).toEqual({ ok: true });
    // No Accept-Encoding: the large body as it is, with its length.
    const plain = await t.app.inject({ url: '/api/v1/probe' });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(Number(plain.headers['content-length'])).toBe(plain.rawPayload.length);
    expect(plain.json()).toMatchObject({ ok: true });
    // A streamed body goes through the plugin whatever its size.
    const streamed = await t.app.inject({ url: '/api/v1/probe/stream', headers: { 'accept-encoding': 'gzip' } });
    expect(streamed.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(streamed.rawPayload).toString()).toBe('streamed');
  });

  it('CORS: localhost origins are allowed in development, others are not', async () => {
    const ok = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/probe', headers: { origin: 'http://localhost:5173', 'access-control-request-method': 'POST' } });
    expect(ok.headers['access-control-allow-origin']).toBe('http://localhost:5173');
    expect(ok.headers['access-control-allow-credentials']).toBe('true');
    const evil = await t.app.inject({ url: '/health', headers: { origin: 'https://evil.example' } });
    expect(evil.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('CORS: an allowed origin gets the CORS headers on a plain request; no Origin, only Vary; a preflight without Origin is no preflight', async () => {
    const cross = await t.app.inject({ url: '/api/v1/probe', headers: { origin: 'http://127.0.0.1:3000' } });
    expect(cross.headers['access-control-allow-origin']).toBe('http://127.0.0.1:3000');
    expect(cross.headers['access-control-expose-headers']).toContain('X-Request-Id');
    expect(cross.headers['access-control-allow-methods']).toBeUndefined();
    expect(cross.headers.vary).toContain('Origin');
    const refused = await t.app.inject({ url: '/api/v1/probe', headers: { origin: 'https://evil.example' } });
    expect(refused.statusCode).toBe(200);
    expect(refused.headers['access-control-allow-origin']).toBeUndefined();
    expect(refused.headers.vary).toContain('Origin');
    const none = await t.app.inject({ url: '/api/v1/probe' });
    expect(none.statusCode).toBe(200);
    expect(Object.keys(none.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    expect(none.headers.vary).toContain('Origin');
    // Without Origin it is no preflight: a plain OPTIONS, answered with what the path allows
    // (RFC 9110 §9.3.7), and no CORS headers; an unknown path stays a 404 problem.
    const preflight = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/probe', headers: { 'access-control-request-method': 'POST' } });
    expect(preflight.statusCode).toBe(204);
    expect(preflight.headers.allow).toBe('GET, HEAD, POST, OPTIONS');
    expect(Object.keys(preflight.headers).filter((h) => h.startsWith('access-control-'))).toEqual([]);
    const nowhere = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/no-such-path' });
    expect(nowhere.statusCode).toBe(404);
    expect(nowhere.headers['content-type']).toMatch(/^application\/problem\+json/);
    const strict = await t.app.inject({ method: 'OPTIONS', url: '/api/v1/probe', headers: { origin: 'http://localhost:5173' } });
    expect(strict.statusCode).toBe(400);
  });

  it('/metrics: Prometheus text for loopback, 403 from a public address', async () => {
    await t.app.inject('/health');
    const res = await t.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/plain/);
    expect(res.body).toMatch(/http_requests_total\{method="GET",route="\/health",status="200"\} \d+/);
    expect(res.body).toContain('http_request_duration_seconds_bucket');
    expect(res.body).toMatch(/tessera_db_pool_connections\{state="max"\} \d+/);
    // Counted by route template and status, timed from the request's start to its answer,
    // streamed answers to their last byte; unmatched paths share one label.
    const scrape = async () => (await t.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    const sampleOf = (text: string, name: string, labels: string) => Number(new RegExp(`^${name}\\{${labels.replace(/[{}]/g, '\\$&')}\\} (\\S+)$`, 'm').exec(text)?.[1] ?? 0);
    const streamed = 'method="GET",route="/api/v1/probe/stream",status="200"';
    const streamedBefore = sampleOf(await scrape(), 'http_requests_total', streamed);
    for (let i = 0; i < 2; i++) await t.app.inject('/api/v1/probe/slow');
    await t.app.inject('/api/v1/probe/stream');
    await t.app.inject('/no/such/path/at/all');
    const after = await scrape();
    const sample = (name: string, labels: string) => sampleOf(after, name, labels);
    const slow = 'method="GET",route="/api/v1/probe/slow",status="200"';
    expect(sample('http_requests_total', slow)).toBe(2);
    expect(sample('http_request_duration_seconds_bucket', `le="0.025",${slow}`)).toBe(0);
    expect(sample('http_request_duration_seconds_bucket', `le="1",${slow}`)).toBe(2);
    expect(sample('http_request_duration_seconds_sum', slow)).toBeGreaterThanOrEqual(0.06);
    expect(sample('http_requests_total', streamed)).toBe(streamedBefore + 1);
    expect(sample('http_requests_total', 'method="GET",route="__unmatched__",status="404"')).toBeGreaterThanOrEqual(1);
    expect(res.body).toContain('tessera_process_resident_memory_bytes');
    expectProblem(await t.app.inject({ url: '/metrics', remoteAddress: '8.8.8.8' }), 403, 'metrics_forbidden');
  });

  it('/openapi.json is OpenAPI 3.1 generated from the routes; /docs serves the UI', async () => {
    const doc = (await t.app.inject('/openapi.json')).json() as { openapi: string; paths: Record<string, unknown> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/health', '/ready', '/api/v1/probe']));
    const docs = await t.app.inject('/docs/');
    expect(docs.statusCode).toBe(200);
    expect(docs.headers['content-type']).toMatch(/text\/html/);
  });

  it('request logs are JSON with the request id and never the Authorization header', async () => {
    await t.app.inject({ url: '/health', headers: { 'x-request-id': 'log-check-1', authorization: 'Bearer super-secret-token' } });
    const lines = t.logs().filter((l) => l.reqId === 'log-check-1');
    expect(lines.length).toBeGreaterThan(0);
    expect(JSON.stringify(t.logs())).not.toContain('super-secret-token');
  });

  it('one access line per request, with credentials in the query redacted', async () => {
    await t.app.inject({ url: '/api/v1/probe/shared-a?reset_token=abc123secret&page=2&code=xyz789secret', headers: { 'x-request-id': 'log-check-2' } });
    const lines = t.logs().filter((l) => l.reqId === 'log-check-2');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      level: 30,
      msg: 'request completed',
      method: 'GET',
      url: '/api/v1/probe/shared-a?reset_token=[redacted]&page=2&code=[redacted]',
      statusCode: 200,
      remoteAddress: '127.0.0.1',
    });
    expect(typeof lines[0]!.responseTime).toBe('number');
    expect(JSON.stringify(t.logs())).not.toMatch(/abc123secret|xyz789secret/);
    // The e-mailed links open web pages with the token in the query (auth-mail.ts).
    await t.app.inject({ url: '/reset-password?token=reset-link-secret', headers: { 'x-request-id': 'log-check-3' } });
    expect(t.logs().find((l) => l.reqId === 'log-check-3')?.url).toBe('/reset-password?token=[redacted]');
    expect(JSON.stringify(t.logs())).not.toContain('reset-link-secret');
    // Anything else logging the request gets the same summary, not the URL as it came.
    t.container.logger.info({ req: { method: 'GET', url: '/web/verify?token=abc123secret', ip: '10.0.0.1' } }, 'probe');
    const probe = t.logs().find((l) => l.msg === 'probe');
    expect(probe?.req).toEqual({ method: 'GET', url: '/web/verify?token=[redacted]', remoteAddress: '10.0.0.1' });
  });

  it('oversized headers (64 KB) get a 431 problem from the socket layer, and the server keeps serving', async () => {
    await t.app.listen({ host: '127.0.0.1', port: 0 });
    const { port } = t.app.server.address() as AddressInfo;
    const res = await new Promise<{ status: number; type: string; body: string; id: string }>((resolve, reject) => {
      const req = httpRequest({ host: '127.0.0.1', port, path: '/health', headers: { 'x-big': 'a'.repeat(64 * 1024) } }, (r) => {
        let body = '';
        r.on('data', (c: Buffer) => (body += c.toString()));
        r.on('end', () => resolve({ status: r.statusCode ?? 0, type: String(r.headers['content-type']), body, id: String(r.headers['x-request-id']) }));
      });
      req.on('error', reject);
      req.end();
    });
    expect(res.status).toBe(431);
    expect(res.type).toMatch(/^application\/problem\+json/);
    expect(JSON.parse(res.body)).toMatchObject({ status: 431, code: 'headers_too_large', request_id: res.id });
    const after = await fetch(`http://127.0.0.1:${port}/health`);
    expect(after.status).toBe(200);
  });
});

describe(`configured hosts, production headers and metrics (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({
      env: {
        ENVIRONMENT: 'production',
        JWT_SECRET_KEY: 'k'.repeat(40),
        ALLOW_EMBEDDED_IN_PRODUCTION: 'true',
        ALLOWED_HOSTS: 'api.example.com,*.tessera.test',
        ALLOWED_ORIGINS: 'https://app.example.com',
        METRICS_TOKEN: 'metrics-token-0123456789',
        LOG_LEVEL: 'warn',
      },
    });
  });
  afterAll(() => t?.close());

  it('a Host outside ALLOWED_HOSTS is 400 host_not_allowed; listed and wildcard hosts pass; probes are exempt', async () => {
    expectProblem(await t.app.inject({ url: '/openapi.json', headers: { host: 'evil.example' } }), 400, 'host_not_allowed');
    expect((await t.app.inject({ url: '/openapi.json', headers: { host: 'api.example.com' } })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/openapi.json', headers: { host: 'eu.tessera.test:8443' } })).statusCode).toBe(200);
    expect((await t.app.inject({ url: '/health', headers: { host: '10.1.2.3:8000' } })).statusCode).toBe(200);
  });

  it('HSTS in production; CORS only for the listed origins, localhost refused', async () => {
    const res = await t.app.inject({ url: '/openapi.json', headers: { host: 'api.example.com', origin: 'https://app.example.com' } });
    expect(res.headers['strict-transport-security']).toContain('max-age=31536000');
    expect(res.headers['access-control-allow-origin']).toBe('https://app.example.com');
    const local = await t.app.inject({ url: '/openapi.json', headers: { host: 'api.example.com', origin: 'http://localhost:3000' } });
    expect(local.headers['access-control-allow-origin']).toBeUndefined();
  });

  it('docs are off in production unless DOCS_URL is set', async () => {
    expect((await t.app.inject({ url: '/docs/', headers: { host: 'api.example.com' } })).statusCode).toBe(404);
  });

  it('/metrics from a public address needs METRICS_TOKEN', async () => {
    const base = { url: '/metrics', remoteAddress: '203.0.113.9', headers: { host: 'api.example.com' } };
    expectProblem(await t.app.inject(base), 403, 'metrics_forbidden');
    expectProblem(await t.app.inject({ ...base, headers: { ...base.headers, authorization: 'Bearer wrong-token-0123456789' } }), 403, 'metrics_forbidden');
    const ok = await t.app.inject({ ...base, headers: { ...base.headers, authorization: 'Bearer metrics-token-0123456789' } });
    expect(ok.statusCode).toBe(200);
    // The dependency gauges are checked at scrape time: nobody has called /ready on this app.
    expect(ok.body).toMatch(/tessera_dependency_up\{dependency="database"\} 1/);
    expect(ok.body).toMatch(/tessera_dependency_up\{dependency="storage"\} 1/);
  });
});

describe(`ENABLE_METRICS=false (${BACKEND})`, () => {
  it('removes /metrics', async () => {
    const t = await createTestApp({ env: { ENABLE_METRICS: 'false' } });
    try {
      expectProblem(await t.app.inject('/metrics'), 404, 'not_found');
    } finally {
      await t.close();
    }
  });
});

describe(`rate limits (${BACKEND})`, () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ ...probeRoutes, env: { RATE_LIMIT_API: '3/minute' } });
    // A second instance on the same stores: on Redis the count is shared across instances.
    b = await createTestApp({ ...probeRoutes, sameStoresAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('counts per client address, answers 429 problem with Retry-After and RateLimit-* headers, across instances', async () => {
    const ip = { remoteAddress: '198.51.100.7' };
    const first = await a.app.inject({ url: '/api/v1/probe', ...ip });
    expect(first.statusCode).toBe(200);
    // RATE_LIMIT_HEADERS=near (the default): well inside the limit an answer carries none …
    expect(first.headers['ratelimit-limit']).toBeUndefined();
    expect(first.headers['ratelimit-remaining']).toBeUndefined();
    // … and once half of it is used, every answer does (counted across instances).
    const second = await b.app.inject({ url: '/api/v1/probe', ...ip });
    expect(second.statusCode).toBe(200);
    expect(second.headers['ratelimit-limit']).toBe('3');
    expect(second.headers['ratelimit-remaining']).toBe('1');
    expect(second.headers['ratelimit-policy']).toBe('3;w=60');
    expect((await a.app.inject({ url: '/api/v1/probe', ...ip })).statusCode).toBe(200);
    const limited = await b.app.inject({ url: '/api/v1/probe', ...ip });
    const body = expectProblem(limited, 429, 'rate_limited');
    expect(body.limit).toBe('api');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    expect(Number(limited.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(limited.headers['ratelimit-remaining']).toBe('0');
    // Another client is not affected; health probes are never limited.
    expect((await a.app.inject({ url: '/api/v1/probe', remoteAddress: '198.51.100.8' })).statusCode).toBe(200);
    expect((await a.app.inject({ url: '/health', ...ip })).statusCode).toBe(200);
  });

  it('RATE_LIMIT_HEADERS=always: every counted answer carries RateLimit-*', async () => {
    const t = await createTestApp({ ...probeRoutes, env: { RATE_LIMIT_API: '3/minute', RATE_LIMIT_HEADERS: 'always' } });
    try {
      const first = await t.app.inject({ url: '/api/v1/probe', remoteAddress: '198.51.100.9' });
      expect(first.statusCode).toBe(200);
      expect(first.headers['ratelimit-limit']).toBe('3');
      expect(first.headers['ratelimit-remaining']).toBe('2');
      expect(Number(first.headers['ratelimit-reset'])).toBeGreaterThan(0);
    } finally {
      await t.close();
    }
  });

  it('X-Forwarded-For is not trusted by default: spoofing it does not escape the limit', async () => {
    const ip = '198.51.100.20';
    for (let i = 0; i < 3; i++) {
      await a.app.inject({ url: '/api/v1/probe', remoteAddress: ip, headers: { 'x-forwarded-for': `203.0.113.${i}` } });
    }
    const res = await a.app.inject({ url: '/api/v1/probe', remoteAddress: ip, headers: { 'x-forwarded-for': '203.0.113.99' } });
    expect(res.statusCode).toBe(429);
  });
});

describe(`TRUST_PROXY (${BACKEND})`, () => {
  it('with the proxy named, the forwarded client address is the one counted', async () => {
    const t = await createTestApp({ ...probeRoutes, env: { RATE_LIMIT_API: '1/minute', TRUST_PROXY: '10.0.0.1' } });
    try {
      const viaProxy = (client: string) => t.app.inject({ url: '/api/v1/probe', remoteAddress: '10.0.0.1', headers: { 'x-forwarded-for': client } });
      expect((await viaProxy('203.0.113.1')).statusCode).toBe(200);
      expect((await viaProxy('203.0.113.2')).statusCode).toBe(200);
      expect((await viaProxy('203.0.113.1')).statusCode).toBe(429);
    } finally {
      await t.close();
    }
  });
});
