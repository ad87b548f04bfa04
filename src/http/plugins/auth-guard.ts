import type { FastifyInstance, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { bearerToken, missingToken, type Principal } from '../../modules/auth/authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** who is calling: set by the `authenticate*` hooks, null when anonymous */
    auth: Principal | null;
  }
  interface FastifyInstance {
    /** onRequest hook: a valid, unrevoked user access token is required (401, or 403 for a service token) */
    authenticate: onRequestHookHandler;
    /** onRequest hook: anonymous is fine, but a token that is sent must be valid */
    authenticateOptional: onRequestHookHandler;
    /** onRequest hook: a user token whose account has the admin role now (403 otherwise) */
    requireAdmin: onRequestHookHandler;
  }
}

/**
 * The request guard. It runs as onRequest, before the body is read and before the rate-limit
 * preHandler, so a signed-in caller's limits count against their user id, not their address.
 * Use it as `{ onRequest: [app.authenticate] }` on any route.
 */
export function registerAuthGuard(app: FastifyInstance, container: Container): void {
  const { authenticator, admin } = container.auth;
  app.decorateRequest('auth', null);

  async function establish(request: FastifyRequest, required: boolean): Promise<void> {
    const token = bearerToken(request.headers.authorization);
    if (token === null) {
      if (required) throw missingToken();
      return;
    }
    const principal = await authenticator.authenticate(token);
    request.auth = principal;
    request.rateLimitSubject = principal.kind === 'user' ? principal.userId : `client:${principal.clientId}`;
  }

  app.decorate('authenticate', async function authenticate(request: FastifyRequest) {
    await establish(request, true);
    if (request.auth?.kind !== 'user') throw new AppError('forbidden', { detail: 'This needs a user access token, not a service token' });
  });

  app.decorate('authenticateOptional', async function authenticateOptional(request: FastifyRequest) {
    await establish(request, false);
  });

  app.decorate('requireAdmin', async function requireAdmin(request: FastifyRequest) {
    await establish(request, true);
    await admin.requireAdmin(request.auth);
  });
}
