import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import type { Config } from '../config/index.js';
import type { Container } from '../container.js';
import { toAppError } from '../http/plugins/errors.js';
import { scrubEvent, scrubText } from './scrub.js';

/** Where unhandled errors go when SENTRY_DSN is set (seed 004: error tracking). */
export interface ErrorTracker {
  captureRequestError(err: unknown, request: FastifyRequest, status: number): void;
  close(timeoutMs: number): Promise<void>;
}

/**
 * A Sentry client of this app's own, not the SDK's global one: two apps in one process (the
 * multi-instance tests) keep their reports apart, and nothing is patched at import. No default
 * integrations (no console, http or breadcrumb capture): only what is handed to it, scrubbed.
 * The SDK is loaded only when a DSN is set.
 */
export async function createErrorTracker(config: Readonly<Config>, logger: Logger): Promise<ErrorTracker | null> {
  if (!config.sentryDsn) return null;
  const Sentry = await import('@sentry/node');
  const client = new Sentry.NodeClient({
    dsn: config.sentryDsn,
    environment: config.environment,
    release: `tessera@${config.version}`,
    transport: Sentry.makeNodeTransport,
    stackParser: Sentry.defaultStackParser,
    integrations: [],
    // Collect nothing on its own: no user details, cookies, headers, query strings or bodies.
    dataCollection: { userInfo: false, cookies: false, httpHeaders: false, httpBodies: [], urlQueryParams: false },
    sendClientReports: false,
    enableRuntimeChannelInjection: false,
    maxBreadcrumbs: 0,
    beforeSend: (event) => scrubEvent(event),
  });
  const scope = new Sentry.Scope();
  scope.setClient(client);
  scope.setTag('environment', config.environment);
  client.init();
  logger.info({ component: 'sentry' }, 'unhandled errors are reported to Sentry');

  return {
    captureRequestError(err, request, status) {
      const s = scope.clone();
      s.setTag('request_id', request.id);
      s.setTag('route', request.routeOptions.url ?? 'unmatched');
      s.setTag('status', String(status));
      if (request.auth?.kind === 'user') s.setUser({ id: request.auth.userId });
      s.setContext('request', { method: request.method, path: scrubText(request.url) });
      s.captureException(err, { mechanism: { type: 'fastify.error_handler', handled: false } });
    },
    async close(timeoutMs) {
      await client.close(timeoutMs);
    },
  };
}

/**
 * Reports 5xx answers to Sentry with the request id and environment as tags. 503s are left
 * out: they are a dependency being down, which /ready and tessera_dependency_up report, not a bug.
 */
export async function registerErrorTracking(app: FastifyInstance, container: Container): Promise<void> {
  const tracker = await createErrorTracker(container.config, container.logger);
  if (!tracker) return;
  app.addHook('onError', async (request, _reply, error) => {
    const status = toAppError(error).status;
    if (status >= 500 && status !== 503) tracker.captureRequestError(error, request, status);
  });
  app.addHook('onClose', async () => {
    await tracker.close(2_000);
  });
}
