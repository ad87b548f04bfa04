import compress from '@fastify/compress';
import cors, { type FastifyCorsOptions } from '@fastify/cors';
import helmet from 'helmet';
import type { FastifyInstance, FastifyPluginCallback, onRequestHookHandler, onSendHookHandler } from 'fastify';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import { sendProblem } from '../problem.js';
import { armRequestDeadline, hasBody } from './request-deadline.js';

/** The first Content-Encoding (of any, repeated — Node joins them — or listed) that is not `identity`. */
function contentCoding(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  for (const coding of header.split(',')) {
    const c = coding.trim().toLowerCase();
    if (c !== '' && c !== 'identity') return header;
  }
  return undefined;
}

// Load balancers and orchestrators probe by address, not by name.
const HOST_CHECK_EXEMPT = new Set(['/health', '/ready']);

export function hostAllowed(hostname: string, allowed: readonly string[]): boolean {
  const h = hostname.toLowerCase().replace(/\.$/, '');
  return allowed.some((a) => (a.startsWith('*.') ? h.endsWith(a.slice(1)) && h.length > a.length - 1 : a === h || a === '*'));
}

const LOCALHOST_ORIGIN = /^https?:\/\/(localhost|127\.0\.0\.1|\[::1\])(:\d{1,5})?$/;

export function originAllowed(origin: string, server: Config['server']): boolean {
  if (server.allowedOrigins.includes('*')) return true;
  if (server.allowedOrigins.includes(origin)) return true;
  return server.allowLocalhostOrigins && LOCALHOST_ORIGIN.test(origin);
}

/**
 * helmet decides the security headers; it is run once, at start-up, against a stand-in
 * response, and every reply gets that fixed set (nothing in it varies per request: no CSP
 * nonces), instead of rebuilding helmet's middleware on every request.
 */
export function computeSecurityHeaders(config: Readonly<Config>): Record<string, string> {
  const middleware = helmet({
    // The API answers JSON; the web app and docs are same-origin and need nothing else.
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        baseUri: ["'self'"],
        connectSrc: ["'self'"],
        fontSrc: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
        imgSrc: ["'self'", 'data:', 'blob:'],
        objectSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
      },
    },
    strictTransportSecurity: config.server.hsts ? { maxAge: 31_536_000, includeSubDomains: true } : false,
    frameguard: { action: 'deny' },
    crossOriginResourcePolicy: { policy: 'same-site' },
    crossOriginEmbedderPolicy: false,
    referrerPolicy: { policy: 'no-referrer' },
  });
  const headers: Record<string, string> = {};
  const standIn = {
    setHeader: (name: string, value: string | number | readonly string[]) => {
      headers[name.toLowerCase()] = Array.isArray(value) ? value.join(', ') : String(value);
    },
    removeHeader: (name: string) => {
      delete headers[name.toLowerCase()];
    },
  };
  let failed: unknown;
  middleware({} as never, standIn as never, (err?: unknown) => {
    failed = err;
  });
  if (failed) throw failed;
  return headers;
}

/**
 * What JSON and other non-HTML answers carry (OWASP REST security cheat sheet): nothing in
 * them can run script, so the browser-hardening set is trimmed to what still matters.
 * HTML pages (the web app) replace these with the full `computeSecurityHeaders` set.
 */
export function apiSecurityHeaders(full: Record<string, string>): Record<string, string> {
  const keep = ['x-content-type-options', 'x-frame-options', 'referrer-policy', 'strict-transport-security', 'cross-origin-resource-policy'];
  const headers: Record<string, string> = { 'content-security-policy': "default-src 'none'; frame-ancestors 'none'" };
  for (const name of keep) if (full[name] !== undefined) headers[name] = full[name];
  return headers;
}

const ROUTE_HOOKS = ['onRequest', 'preParsing', 'preValidation', 'preHandler', 'preSerialization', 'onSend', 'onResponse', 'onTimeout', 'onError'] as const;

/**
 * At the root, for every response: the request id and the security headers (`apiSecurityHeaders`,
 * made once by the caller, which also hands them to Fastify's own early answers; one callback hook,
 * no promise, which also refuses compressed bodies and URLs with %00 and arms a body's deadline), the
 * ALLOWED_HOSTS check, and compression (seed 002: bodies over 1 KB, br or gzip; a route whose
 * answers are always small opts out with `compress: false`).
 */
export async function registerSecurity(app: FastifyInstance, config: Readonly<Config>, securityHeaders: Readonly<Record<string, string>>): Promise<void> {
  const allowedHosts = config.server.allowedHosts;
  app.addHook('onRequest', (request, reply, done) => {
    reply.headers(securityHeaders);
    reply.header('x-request-id', request.id);
    // No path or query parameter holds a NUL: PostgreSQL's text cannot store one, and a search
    // for `q=%00` failed in the query with a 500. (JSON text fields drop control characters as
    // they are cleaned; form bodies: routes/oauth.ts.)
    if (request.url.includes('%00')) {
      sendProblem(request, reply, new AppError('bad_request', { detail: 'The URL contains %00 (U+0000), which no path or parameter accepts' }));
      return;
    }
    // Request bodies are taken as sent: a compressed one (a way to smuggle a decompression bomb
    // past the body limit's intent) is refused before any of it is read (RFC 9110 §15.5.16).
    const coding = contentCoding(request.headers['content-encoding']);
    if (coding !== undefined) {
      sendProblem(request, reply, new AppError('unsupported_media_type', { detail: `Request bodies are not accepted with Content-Encoding: ${coding.slice(0, 40)}` }));
      return;
    }
    // A body must arrive in time (REQUEST_TIMEOUT_MS, or an upload's own deadlines).
    if (hasBody(request.raw)) armRequestDeadline(request, reply, config.server);
    done();
  });

  if (allowedHosts) {
    app.addHook('onRequest', async (request, reply) => {
      if (HOST_CHECK_EXEMPT.has(request.url.split('?')[0] ?? '')) return;
      if (!hostAllowed(request.hostname, allowedHosts)) {
        return sendProblem(request, reply, new AppError('host_not_allowed', { detail: 'Set ALLOWED_HOSTS to serve this name' }));
      }
    });
  }

  // Responses only: request decompression is off on every route (no preParsing hook on each
  // request); compressed request bodies are refused above.
  app.addHook('onRoute', (route) => {
    route.decompress ??= false;
    // @fastify/compress pushes its hook into the route's own array. Routes registered with
    // one shared options object (`{ onRequest: [guard] }`) would each add theirs to the same
    // array: the n-th such route ran the compression hook n times. Each route gets a copy.
    for (const name of ROUTE_HOOKS) {
      const hooks = route[name];
      if (Array.isArray(hooks)) (route as unknown as Record<string, unknown>)[name] = [...(hooks as unknown[])];
    }
  });
  await app.register(compress, { threshold: 1024, encodings: ['br', 'gzip'], global: true });
}

/**
 * `Cache-Control: no-store` on every answer of a scope whose routes did not set their own: what
 * they answer is about a person (profiles, files), and a shared cache must not keep it.
 */
export const noStoreUnlessSet: onSendHookHandler = (_request, reply, payload, done) => {
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  done(null, payload);
};

/**
 * CORS (allow-list ALLOWED_ORIGINS), registered in the scopes a browser on another origin may
 * call: the API, discovery, the OpenAPI document, uploads. Not on the operations endpoints
 * (health, readiness, metrics), which no browser app calls across origins.
 *
 * @fastify/cors resolves its options for every request (the route's config, a copy of its
 * options, a closure) before it looks at `Origin`. A request without one (a server, a mobile
 * app, a same-origin page's GET) gets nothing from it but `Vary: Origin`, so its hook is
 * wrapped to answer those with just that; every request with an `Origin` goes through it.
 */
export async function registerCors(scope: FastifyInstance, config: Readonly<Config>): Promise<void> {
  const options: FastifyCorsOptions = {
    origin: (origin, cb) => cb(null, origin === undefined ? false : originAllowed(origin, config.server)),
    credentials: config.server.allowCredentials,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'If-None-Match', 'Range'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'ETag', 'Content-Range', 'Content-Disposition'],
    maxAge: 600,
  };
  // The plugin (fastify-plugin: no scope of its own) is given the scope, with its onRequest
  // hook wrapped on the way in.
  const facade = {
    decorateRequest: scope.decorateRequest.bind(scope),
    options: scope.options.bind(scope),
    addHook(name: string, hook: onRequestHookHandler) {
      if (name !== 'onRequest') throw new Error(`@fastify/cors added a ${name} hook; registerCors wraps only onRequest`);
      scope.addHook('onRequest', function corsUnlessNoOrigin(request, reply, done) {
        if (request.headers.origin !== undefined || reply.hasHeader('vary')) return hook.call(this, request, reply, done);
        reply.header('vary', 'Origin');
        done();
      });
    },
  };
  await new Promise<void>((resolve, reject) => (cors as unknown as FastifyPluginCallback<FastifyCorsOptions>)(facade as unknown as FastifyInstance, options, (err) => (err ? reject(err) : resolve())));
}
