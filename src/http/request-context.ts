import type { FastifyRequest } from 'fastify';
import type { RequestContext } from '../modules/auth/audit.js';

/** What the services record about where a request came from (address as TRUST_PROXY resolves it). */
export function requestContext(request: FastifyRequest): RequestContext {
  const ua = request.headers['user-agent'];
  return { ip: request.ip ?? null, userAgent: typeof ua === 'string' ? ua.slice(0, 512) : null };
}
