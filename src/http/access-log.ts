import { LogController, type FastifyReply, type FastifyRequest } from 'fastify';
import type { Logger } from 'pino';
import { requestSummary } from '../logger.js';

/**
 * Request logging at `info`: one access line per request when it has been answered, instead of
 * Fastify's two ("incoming request", then "request completed").
 *
 * The line's fields are flat (reqId, method, url, statusCode, responseTime, remoteAddress), and
 * it is written by the root logger with the request id as a field, not by a child made for the
 * request: nested `req` and `res` objects would each go through pino's path redaction, and a
 * child logger would be built for every request. Errors keep their own lines (the
 * error handler logs them with the error); a request that failed as it was written is logged
 * here at `error`.
 */
export class AccessLog extends LogController {
  constructor(private readonly logger: Logger) {
    super({ disableRequestLogging: !logger.isLevelEnabled('info') });
  }

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (this.isLogDisabled(request)) return;
    // The request as every log line shows it (method, redacted URL, client address), flat.
    const line = { reqId: request.id, ...requestSummary(request), statusCode: reply.statusCode, responseTime: reply.elapsedTime };
    if (error) this.logger.error({ ...line, err: error }, 'request errored');
    else this.logger.info(line, 'request completed');
  }
}
