import Ajv from 'ajv';
import addFormats from 'ajv-formats';
import type { Logger } from 'pino';
import { lazyChildLogger } from './logger.js';
import Fastify, { type FastifyBaseLogger, type FastifyInstance } from 'fastify';
import type { TrustProxy } from './config/index.js';
import type { Container } from './container.js';
import { LocalObjectStorage } from './adapters/object-storage/local.js';
import { AccessLog } from './http/access-log.js';
import { registerAuth, registerAuthRoutes, registerDiscoveryRoutes } from './http/auth.js';
import { clientErrorHandler, frameworkErrorHandler, registerErrorHandling } from './http/plugins/errors.js';
import { metricsRoute, registerMetrics } from './http/plugins/metrics.js';
import { openApiRoutes, registerOpenApi } from './http/plugins/openapi.js';
import { registerRequestDeadlines } from './http/plugins/request-deadline.js';
import { registerRequestGate } from './http/plugins/request-gate.js';
import { genRequestId } from './http/plugins/request-id.js';
import { apiSecurityHeaders, computeSecurityHeaders, registerCors, registerSecurity } from './http/plugins/security.js';
import { registerWriteBatching } from './http/plugins/write-batching.js';
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
 * On close, Fastify stops accepting (a request arriving on a kept-alive connection gets a 503
 * with `Connection: close`) and closes the connections idle at that moment; a request still in
 * flight finishes, and its connection is closed as soon as it is idle again: idle sockets are
 * swept until the server is closed.
 */
function registerGracefulClose(app: FastifyInstance): void {
  let sweeper: NodeJS.Timeout | undefined;
  app.addHook('preClose', async () => {
    sweeper = setInterval(() => app.server.closeIdleConnections(), 100);
    sweeper.unref();
  });
  app.addHook('onClose', async () => clearInterval(sweeper));
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
  const securityHeaders = apiSecurityHeaders(computeSecurityHeaders(config));
  const app = Fastify({
    loggerInstance: logger as FastifyBaseLogger,
    // One access line per request at info; below that level not even attempted.
    logController: new AccessLog(logger),
    genReqId: genRequestId,
    childLoggerFactory: (parent, bindings, options) => lazyChildLogger(parent as unknown as Logger, bindings, options) as unknown as FastifyBaseLogger,
    trustProxy: trustProxyOption(config.server.trustProxy),
    bodyLimit: config.server.bodyLimitBytes,
    // Kept per request instead (REQUEST_TIMEOUT_MS, uploads' own deadlines): request-deadline.ts.
    requestTimeout: 0,
    connectionTimeout: 0,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    clientErrorHandler: clientErrorHandler(logger),
    frameworkErrors: frameworkErrorHandler(securityHeaders),
    routerOptions: { maxParamLength: 200, ignoreTrailingSlash: true },
  });

  const ajv = validators();
  app.setValidatorCompiler(({ schema, httpPart }) => (httpPart === 'body' ? ajv.body : ajv.params).compile(schema));
  app.addSchema(ProblemSchema);

  // At the root: what every request gets (request id, security headers, error answers), and
  // the onRoute hooks that give each route only the per-request work it needs (metrics,
  // compression, the request gate), so a route that needs nothing runs nothing.
  registerGracefulClose(app);
  registerRequestDeadlines(app, config);
  registerWriteBatching(app);
  const notFound = registerErrorHandling(app);
  await registerErrorTracking(app, container);
  await registerSecurity(app, config, securityHeaders);
  notFound.unmatched.push(registerMetrics(app, container.metrics));
  await registerOpenApi(app, config);
  registerRequestGate(app, container, await registerAuth(app, container));

  // Operations endpoints: no CORS, nothing counted against rate limits.
  healthRoutes(app, container);
  metricsRoute(app, container.metrics, config);

  // Everything a browser on another origin may call: with CORS (ALLOWED_ORIGINS).
  await app.register(async (scope) => {
    await registerCors(scope, config);
    // The local store's public objects (avatars); S3 and Cloudinary serve their own.
    if (container.storage instanceof LocalObjectStorage) uploadsRoutes(scope, container.storage);
    registerDiscoveryRoutes(scope, container);
    await openApiRoutes(scope, config);
    await scope.register(
      async (api) => {
        // Capability routes (auth, profiles, files, events, admin) register here.
        await registerAuthRoutes(api, container);
        await eventsRoutes(api, container);
        // Its own scope: the multipart parser (avatar uploads) is registered there.
        await api.register(async (child) => profileRoutes(child, container));
        // Its own scope too: the multipart parser with the file-upload limits.
        await api.register(async (child) => filesRoutes(child, container));
        options.extraApiRoutes?.(api);
      },
      { prefix: config.server.apiPrefix },
    );
  });
  // The web app at `/` (dist/web); its client routes are what nothing above answers.
  const webFallback = await webRoutes(app, container);
  if (webFallback) notFound.fallbacks.push(webFallback);

  await app.ready();
  return app;
}
