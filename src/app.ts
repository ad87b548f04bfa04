import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { lazyChildLogger } from './logger.js';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TrustProxy } from './config/index.js';
import type { Container } from './container.js';
import { LocalObjectStorage } from './adapters/object-storage/local.js';
import { registerAuth, registerAuthRoutes } from './http/auth.js';
import { clientErrorHandler, registerErrorHandling } from './http/plugins/errors.js';
import { registerMetrics } from './http/plugins/metrics.js';
import { registerOpenApi } from './http/plugins/openapi.js';
import { createRateLimiter, registerRateLimits } from './http/plugins/rate-limit.js';
import { genRequestId, registerRequestId } from './http/plugins/request-id.js';
import { registerSecurity } from './http/plugins/security.js';
import { eventsRoutes } from './http/routes/events.js';
import { filesRoutes } from './http/routes/files.js';
import { healthRoutes } from './http/routes/health.js';
import { profileRoutes } from './http/routes/profiles.js';
import { uploadsRoutes } from './http/routes/uploads.js';
import { webRoutes } from './http/routes/web.js';
import { ProblemSchema } from './http/schemas/common.js';
import { registerErrorTracking } from './observability/sentry.js';

/**
 * Body validation never coerces ("1" is not a number) and never drops unknown keys (they are
 * a 422); query strings and path parameters coerce, since they only ever arrive as text.
 */
function validators() {
  const common = { allErrors: true, removeAdditional: false, useDefaults: true, strict: false } as const;
  const body = addFormats.default(new Ajv.default({ ...common, coerceTypes: false }));
  const params = addFormats.default(new Ajv.default({ ...common, coerceTypes: 'array' }));
  return { body, params };
}

/**
 * On close, Fastify stops accepting and closes the connections idle at that moment; a request
 * still in flight finishes, but its keep-alive connection would then hold the close open. So
 * once closing, every response says `Connection: close` and idle sockets are swept until done.
 */
function registerGracefulClose(app: FastifyInstance): void {
  let closing = false;
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    closing = true;
    sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
    sweeper.unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
  app.addHook('onSend', (_request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });
}

/** Never trusts X-Forwarded-For unless TRUST_PROXY names the proxies (or a hop count). */
function trustProxyOption(setting: TrustProxy): boolean | string | ((address: string, hop: number) => boolean) {
  if (typeof setting === 'number') return (_address, hop) => hop < setting;
  if (Array.isArray(setting)) return setting.join(',');
  return setting;
}

/** A Fastify instance on the given container. No side effects on import; call it as often as needed. */
export interface BuildAppOptions {
  /** more routes under the API prefix (embedding Tessera, or a test's probe routes) */
  extraApiRoutes?: (api: FastifyInstance) => void;
}

export async function buildApp(container: Container, options: BuildAppOptions = {}): Promise<FastifyInstance> {
  const { config, logger } = container;
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    genReqId: genRequestId,
    childLoggerFactory: (parent, bindings, options) => lazyChildLogger(parent as unknown as Logger, bindings, options) as unknown as FastifyBaseLogger,
    trustProxy: trustProxyOption(config.server.trustProxy),
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: config.server.requestTimeoutMs,
    connectionTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler: clientErrorHandler(logger),
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
  });

  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.params).compile(schema));
  app.addSchema(ProblemSchema);

  registerRequestId(app);
  registerGracefulClose(app);
  registerErrorHandling(app);
  await registerErrorTracking(app, container);
  await registerSecurity(app, config);
  registerMetrics(app, container.metrics, config);
  await registerOpenApi(app, config);

  const limiter = createRateLimiter(container.kv, container.metrics, config.rateLimit.enabled);
  registerRateLimits(app, limiter, config);

  healthRoutes(app, container);
  // The local store's public objects (avatars); S3 and Cloudinary serve their own.
  if (container.storage instanceof LocalObjectStorage) uploadsRoutes(app, container.storage);
  await registerAuth(app, container);
  await app.register(
    async (api) => {
      // Capability routes (auth, profiles, files, events, admin) register here.
      await registerAuthRoutes(api, container);
      await eventsRoutes(api, container);
      // Its own scope: the multipart parser (avatar uploads) is registered there.
      await api.register(async (scope) => profileRoutes(scope, container));
      // Its own scope too: the multipart parser with the file-upload limits.
      await api.register(async (scope) => filesRoutes(scope, container));
      options.extraApiRoutes?.(api);
    },
    { prefix: config.server.apiPrefix },
  );
  // The web app at `/` (dist/web), last: its client routes are what nothing above answers.
  await webRoutes(app, container);

  await app.ready();
  return app;
}
