import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Container } from '../../container.js';
import { bearerToken, missingToken, type PendingAuth, type Principal } from '../../modules/auth/authenticator.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** who is calling: set by the request gate once the token is checked, null when anonymous */
    auth: Principal | null;
    /** a verified token whose revocation the request gate checks (in its one key-value round trip) */
    pendingAuth: PendingAuth | null;
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

/** What a route's guard asks for; the request gate finishes the check. */
export type GuardMode = 'user' | 'optional' | 'admin';

/**
 * The request guard. It runs as onRequest, before the body is read. It verifies the token's
 * signature and claims (cached per token, no I/O on a repeat); the request gate, the route's
 * last onRequest hook, then reads the token's revocation entries in the same key-value round
 * trip as the rate-limit hits, and sets `request.auth` (see request-gate.ts).
 * Use it as `{ onRequest: [app.authenticate] }` on any route.
 */
export function registerAuthGuard(app: FastifyInstance, container: Container): Map<onRequestHookHandler, GuardMode> {
  const { authenticator } = container.auth;
  app.decorateRequest('auth', null);
  app.decorateRequest('pendingAuth', null);

  const guard = (required: boolean): onRequestHookHandler =>
    // Callback-style: a token verified before costs no promise.
    function guardHook(this: FastifyInstance, request: FastifyRequest, _reply: FastifyReply, done: (err?: Error) => void) {
      const header = request.headers.authorization;
      // A token verified before is its own proof of form: only verified tokens are cache keys.
      if (header !== undefined && header.startsWith('Bearer ')) {
        const seen = authenticator.cachedClaims(header.slice(7));
        if (seen) {
          request.pendingAuth = authenticator.prepare(seen);
          return done();
        }
      }
      let token: string | null;
      try {
        token = bearerToken(header);
      } catch (err) {
        return done(err as Error);
      }
      if (token === null) return done(required ? missingToken() : undefined);
      const cached = authenticator.cachedClaims(token);
      if (cached) {
        request.pendingAuth = authenticator.prepare(cached);
        return done();
      }
      authenticator.claims(token).then(
        (claims) => {
          request.pendingAuth = authenticator.prepare(claims);
          done();
        },
        (err: Error) => done(err),
      );
    } as onRequestHookHandler;

  const modes = new Map<onRequestHookHandler, GuardMode>([
    [guard(true), 'user'],
    [guard(false), 'optional'],
    [guard(true), 'admin'],
  ]);
  const [authenticate, authenticateOptional, requireAdmin] = [...modes.keys()] as [onRequestHookHandler, onRequestHookHandler, onRequestHookHandler];
  app.decorate('authenticate', authenticate);
  app.decorate('authenticateOptional', authenticateOptional);
  app.decorate('requireAdmin', requireAdmin);
  return modes;
}
