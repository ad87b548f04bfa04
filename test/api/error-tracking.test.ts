import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../src/errors/app-error.js';
import { AUTH_TEST_ENV } from '../helpers/auth.js';
import { eventually, settle } from '../helpers/realtime.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

interface Envelope {
  path: string;
  raw: string;
  items: Record<string, unknown>[];
}

/** A stand-in for Sentry's ingest endpoint: keeps every envelope it is sent. */
async function fakeSentry(): Promise<{ server: Server; port: number; envelopes: Envelope[] }> {
  const envelopes: Envelope[] = [];
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      let body = Buffer.concat(chunks);
      if (req.headers['content-encoding'] === 'gzip') body = gunzipSync(body);
      const raw = body.toString('utf8');
      envelopes.push({ path: req.url ?? '', raw, items: raw.split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) });
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, port: (server.address() as AddressInfo).port, envelopes };
}

const EMAIL = 'victim.person@example.org';
const PASSWORD = 'Hunter2-Very-Secret!';
const JWT = 'eyJhbGciOiJFZERTQSJ9.eyJzdWIiOiJ2aWN0aW0ifQ.c2lnbmF0dXJlLXBhcnQtaGVyZQ';
const COOKIE = 'refresh-cookie-value-that-must-not-leak';

const failingRoutes = {
  extraApiRoutes: (api: FastifyInstance) => {
    api.post('/boom', async () => {
      throw new Error(`could not update ${EMAIL}: password=${PASSWORD} token ${JWT}`);
    });
    api.get('/refused', async () => {
      throw new AppError('forbidden');
    });
    api.get('/unavailable', async () => {
      throw new AppError('kv_unavailable');
    });
  },
};

describe(`error tracking with SENTRY_DSN (${BACKEND})`, () => {
  let sentry: Awaited<ReturnType<typeof fakeSentry>>;
  let t: TestApp;

  beforeAll(async () => {
    sentry = await fakeSentry();
    t = await createTestApp({ ...failingRoutes, env: { ...AUTH_TEST_ENV, SENTRY_DSN: `http://publickey@127.0.0.1:${sentry.port}/42` } });
  });
  afterAll(async () => {
    await t?.close();
    sentry?.server.close();
  });

  it('an unhandled error (500) is sent, tagged with the request id and environment, with no secrets or e-mail addresses in it', async () => {
    const res = await t.app.inject({
      method: 'POST',
      url: `/api/v1/boom?token=${JWT}&email=${encodeURIComponent(EMAIL)}`,
      headers: { authorization: `Bearer ${JWT}`, cookie: `tessera_refresh=${COOKIE}`, 'content-type': 'application/json' },
      payload: { email: EMAIL, password: PASSWORD },
    });
    expect(res.statusCode).toBe(500);
    expect(res.body).not.toContain(EMAIL);
    await eventually(() => expect(sentry.envelopes.length).toBe(1), 5_000);
    const [envelope] = sentry.envelopes;
    expect(envelope!.path).toMatch(/^\/api\/42\/envelope\//);
    const event = envelope!.items.find((i) => 'exception' in i) as Record<string, unknown> & {
      tags: Record<string, string>;
      exception: { values: { type: string; value: string; stacktrace?: unknown }[] };
    };
    expect(event.tags).toMatchObject({ request_id: res.headers['x-request-id'], environment: 'development', status: '500' });
    expect(event.environment).toBe('development');
    expect(event.release).toBe(`tessera@${t.config.version}`);
    expect(event.exception.values[0]).toMatchObject({ type: 'Error', value: expect.stringContaining('could not update [email]') });
    expect(event.exception.values[0]!.stacktrace).toBeDefined();
    for (const secret of [EMAIL, PASSWORD, JWT, COOKIE, 'victim']) expect(envelope!.raw).not.toContain(secret);
  });

  it('4xx answers and 503s (a dependency down, not a bug) are not sent', async () => {
    const before = sentry.envelopes.length;
    expect((await t.app.inject('/api/v1/refused')).statusCode).toBe(403);
    expect((await t.app.inject('/api/v1/unavailable')).statusCode).toBe(503);
    expect((await t.app.inject('/api/v1/nowhere')).statusCode).toBe(404);
    await settle(300);
    expect(sentry.envelopes.length).toBe(before);
  });

  it('without SENTRY_DSN nothing is sent and the SDK is not even loaded', async () => {
    const plain = await createTestApp({ ...failingRoutes, env: AUTH_TEST_ENV });
    try {
      const before = sentry.envelopes.length;
      expect((await plain.app.inject({ method: 'POST', url: '/api/v1/boom' })).statusCode).toBe(500);
      await settle(200);
      expect(sentry.envelopes.length).toBe(before);
    } finally {
      await plain.close();
    }
  });
});
