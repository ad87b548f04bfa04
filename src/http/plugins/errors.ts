import { randomUUID } from 'node:crypto';
import type { Socket } from 'node:net';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import FindMyWay, { type HTTPMethod } from 'find-my-way';
import type { Logger } from 'pino';
import { AppError, type FieldError } from '../../errors/app-error.js';
import { isDatabaseUnavailable } from '../../db/database.js';
import { isUnstorableText } from '../../repositories/database-errors.js';
import { isKeyValueUnavailable } from '../../adapters/kv/unavailable.js';
import { codeForStatus, PROBLEM_CONTENT_TYPE, problemFor, sendProblem } from '../problem.js';

interface AjvError {
  instancePath?: string;
  keyword?: string;
  message?: string;
  params?: Record<string, unknown>;
}

function fieldErrors(validation: AjvError[], context: string | undefined): FieldError[] {
  return validation.map((v) => {
    let field = v.instancePath ?? '';
    if (v.keyword === 'required' && typeof v.params?.missingProperty === 'string') field += `/${v.params.missingProperty}`;
    if (v.keyword === 'additionalProperties' && typeof v.params?.additionalProperty === 'string') {
      field += `/${v.params.additionalProperty}`;
      return { field: fieldName(field, context), message: 'is not a known field' };
    }
    return { field: fieldName(field, context), message: v.message ?? 'is invalid' };
  });
}

function fieldName(pointer: string, context: string | undefined): string {
  const name = pointer.replace(/^\//, '').replace(/\//g, '.');
  if (context && context !== 'body') return name ? `${context}.${name}` : context;
  return name || '(body)';
}

/** Turns whatever was thrown into problem+json: the only place that does. */
export function toAppError(err: unknown): AppError {
  if (err instanceof AppError) return err;
  const e = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (e && Array.isArray(e.validation)) {
    return new AppError('validation_failed', { errors: fieldErrors(e.validation, e.validationContext), cause: err });
  }
  switch (e?.code) {
    case 'FST_ERR_CTP_INVALID_JSON_BODY':
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new AppError('malformed_json', { detail: 'The body could not be parsed as JSON', cause: err });
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new AppError('payload_too_large', { cause: err });
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new AppError('unsupported_media_type', { detail: 'This endpoint does not accept that Content-Type', cause: err });
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new AppError('bad_request', { detail: 'Content-Length does not match the body', cause: err });
  }
  if (err instanceof SyntaxError && (e as { statusCode?: number }).statusCode === 400) {
    return new AppError('malformed_json', { detail: 'The body could not be parsed as JSON', cause: err });
  }
  // Text the database cannot store (a NUL, invalid UTF-8) that no check on the way in caught:
  // the input's fault, never a 500 (the statement failed whole; nothing was written).
  if (isUnstorableText(err)) return new AppError('bad_request', { detail: 'The request contains characters that cannot be stored (such as U+0000)', cause: err });
  if (isDatabaseUnavailable(err)) return new AppError('database_unavailable', { cause: err });
  if (isKeyValueUnavailable(err)) return new AppError('kv_unavailable', { cause: err });
  const status = typeof e?.statusCode === 'number' ? e.statusCode : 500;
  if (status >= 400 && status < 500) return new AppError(codeForStatus(status), { cause: err });
  return new AppError('internal_error', { cause: err });
}

/** Asked, in order, before a 404 or 405: true when it answered the request itself. */
export type NotFoundFallback = (request: FastifyRequest, reply: FastifyReply) => boolean;

/**
 * The error handler and the not-found handler. Returns where to add not-found fallbacks (the
 * web app answers browser navigations) and be told of each unmatched request (metrics).
 */
export function registerErrorHandling(app: FastifyInstance): { fallbacks: NotFoundFallback[]; unmatched: ((request: FastifyRequest, reply: FastifyReply) => void)[] } {
  const fallbacks: NotFoundFallback[] = [];
  const unmatched: ((request: FastifyRequest, reply: FastifyReply) => void)[] = [];
  app.setErrorHandler((err, request, reply) => {
    const appError = toAppError(err);
    if (appError.status >= 500) {
      request.log.error({ err, code: appError.code }, 'request failed');
    } else {
      request.log.info({ code: appError.code, status: appError.status }, 'request refused');
    }
    return sendProblem(request, reply, appError);
  });

  // 405 needs to know which methods a path has: a shadow router of every registered route.
  const shadow = FindMyWay();
  app.addHook('onRoute', (route) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    for (const m of methods) {
      try {
        shadow.on(m as HTTPMethod, route.url, () => undefined);
      } catch {
        // the same route twice (HEAD for GET): already known
      }
    }
  });

  app.setNotFoundHandler((request, reply) => {
    for (const listener of unmatched) listener(request, reply);
    for (const fallback of fallbacks) if (fallback(request, reply)) return reply;
    const path = request.url.split('?')[0] ?? '/';
    const allowed = (['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const).filter(
      (m) => m !== request.method && shadow.find(m, path) !== null,
    );
    // OPTIONS that is not a CORS preflight (no Origin; the CORS plugin answers those): what
    // the path allows (RFC 9110 §9.3.7), and 404 only where there is nothing.
    if (allowed.length && request.method === 'OPTIONS') {
      const methods = allowed.flatMap((m) => (m === 'GET' ? ['GET', 'HEAD'] : [m]));
      return reply.code(204).header('allow', [...methods, 'OPTIONS'].join(', ')).send();
    }
    if (allowed.length) {
      return sendProblem(
        request,
        reply,
        new AppError('method_not_allowed', { detail: `${request.method} is not allowed here`, headers: { allow: allowed.join(', ') } }),
      );
    }
    return sendProblem(request, reply, new AppError('not_found', { detail: 'No such resource' }));
  });
  return { fallbacks, unmatched };
}

/**
 * What Fastify answers by itself before any route or hook runs — a path that is not validly
 * percent-encoded (FST_ERR_BAD_URL), a path parameter over the router's maxParamLength
 * (FST_ERR_MAX_PARAM_LENGTH) — as problem+json with the request id and the security headers,
 * like every other answer (Fastify's own is a bare JSON body without either).
 */
export function frameworkErrorHandler(securityHeaders: Readonly<Record<string, string>>) {
  return (err: FastifyError, request: FastifyRequest, reply: FastifyReply): void => {
    reply.headers(securityHeaders);
    reply.header('x-request-id', request.id);
    const appError =
      err.code === 'FST_ERR_BAD_URL'
        ? new AppError('bad_request', { detail: 'The URL is not validly percent-encoded', cause: err })
        : err.code === 'FST_ERR_MAX_PARAM_LENGTH'
          ? new AppError('uri_too_long', { detail: 'A path segment is longer than any identifier here', cause: err })
          : toAppError(err);
    request.log.info({ code: appError.code, status: appError.status }, 'request refused');
    sendProblem(request, reply, appError);
  };
}

/**
 * Errors Node's HTTP parser raises before Fastify sees a request (oversized headers,
 * malformed request lines, slow clients) still get a problem+json answer.
 */
export function clientErrorHandler(logger: Logger) {
  return (err: Error & { code?: string }, socket: Socket): void => {
    if (!socket.writable) return;
    const code = err.code === 'HPE_HEADER_OVERFLOW' ? 'headers_too_large' : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 'request_timeout' : 'bad_request';
    const requestId = randomUUID();
    const body = JSON.stringify(problemFor(new AppError(code), requestId));
    logger.info({ reqId: requestId, code, parserError: err.code }, 'client error');
    const status = new AppError(code).status;
    socket.end(
      `HTTP/1.1 ${status} ${code.replace(/_/g, ' ')}\r\n` +
        `Content-Type: ${PROBLEM_CONTENT_TYPE}\r\n` +
        `Content-Length: ${Buffer.byteLength(body)}\r\n` +
        `X-Request-Id: ${requestId}\r\n` +
        'Connection: close\r\n\r\n' +
        body,
    );
  };
}
