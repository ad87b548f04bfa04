import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { AppError, FieldError } from '../errors/app-error.js';
import { ERROR_CODES, type ErrorCode } from '../errors/codes.js';

/** RFC 9457 problem details, plus Tessera's `code` and `request_id`. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  code: string;
  request_id: string;
  errors?: FieldError[];
  [extra: string]: unknown;
}

export const PROBLEM_CONTENT_TYPE = 'application/problem+json; charset=utf-8';

export function problemType(code: string): string {
  return `urn:tessera:problem:${code}`;
}

export function problemFor(error: AppError, requestId: string, instance?: string): Problem {
  const p: Problem = {
    ...(error.extra ?? {}),
    type: problemType(error.code),
    title: error.title,
    status: error.status,
    code: error.code,
    request_id: requestId,
  };
  if (error.detail) p.detail = error.detail;
  if (instance) p.instance = instance;
  if (error.errors?.length) p.errors = error.errors;
  return p;
}

export function sendProblem(request: FastifyRequest, reply: FastifyReply, error: AppError): FastifyReply {
  if (error.headers) reply.headers(error.headers);
  // A WebSocket upgrade refused before its route's hooks ran (a root check, an unknown path):
  // its socket left Node's HTTP server when the upgrade began, so nothing else would close it
  // (@fastify/websocket closes those of its own routes). It ends once the answer is written.
  if (request.raw.headers.upgrade !== undefined) endAfterAnswer(request, reply);
  return reply
    .code(error.status)
    .type(PROBLEM_CONTENT_TYPE)
    .send(problemFor(error, request.id, request.url.split('?')[0]));
}

function endAfterAnswer(request: FastifyRequest, reply: FastifyReply): void {
  const socket = request.raw.socket as Partial<Socket> | undefined;
  if (!socket || socket.destroyed) return;
  reply.header('connection', 'close');
  // destroySoon: the answer flushed, then closed (a test's injected stream has only destroy).
  reply.raw.once('finish', () => (typeof socket.destroySoon === 'function' ? socket.destroySoon() : socket.destroy?.()));
}

/** The code for a bare HTTP status raised by Fastify or a plugin. */
export function codeForStatus(status: number): ErrorCode {
  const found = (Object.keys(ERROR_CODES) as ErrorCode[]).find(
    (c) => ERROR_CODES[c].status === status && !['malformed_json', 'host_not_allowed', 'invalid_token', 'metrics_forbidden', 'database_unavailable', 'kv_unavailable', 'storage_unavailable'].includes(c),
  );
  if (found) return found;
  return status >= 500 ? 'internal_error' : 'bad_request';
}
