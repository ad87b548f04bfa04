import compress from '@fastify/compress';
import cors from '@fastify/cors';
import helmet from '@fastify/helmet';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import { sendProblem } from '../problem.js';

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

export async function registerSecurity(app: FastifyInstance, config: Readonly<Config>): Promise<void> {
  const allowedHosts = config.server.allowedHosts;
  if (allowedHosts) {
    app.addHook('onRequest', async (request, reply) => {
      if (HOST_CHECK_EXEMPT.has(request.url.split('?')[0] ?? '')) return;
      if (!hostAllowed(request.hostname, allowedHosts)) {
        return sendProblem(request, reply, new AppError('host_not_allowed', { detail: 'Set ALLOWED_HOSTS to serve this name' }));
      }
    });
  }

  await app.register(helmet, {
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

  await app.register(cors, {
    origin: (origin, cb) => cb(null, origin === undefined ? false : originAllowed(origin, config.server)),
    credentials: config.server.allowCredentials,
    methods: ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE'],
    allowedHeaders: ['Authorization', 'Content-Type', 'X-Request-Id', 'If-None-Match', 'Range'],
    exposedHeaders: ['X-Request-Id', 'Retry-After', 'RateLimit-Limit', 'RateLimit-Remaining', 'RateLimit-Reset', 'RateLimit-Policy', 'ETag', 'Content-Range', 'Content-Disposition'],
    maxAge: 600,
  });

  // Seed 002: compress responses over 1 KB.
  await app.register(compress, { threshold: 1024, encodings: ['br', 'gzip'], global: true });
}
