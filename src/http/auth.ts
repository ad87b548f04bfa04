import type { FastifyInstance, onRequestHookHandler } from 'fastify';
import type { Container } from '../container.js';
import { registerAuthGuard, type GuardMode } from './plugins/auth-guard.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { oauthRoutes } from './routes/oauth.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { UserSchema } from './schemas/auth.js';

/**
 * At the root, before any route: start the auth module (signing key loaded or created, recent
 * revocations replayed), the request guard (`app.authenticate`, `app.authenticateOptional`,
 * `app.requireAdmin`; returned, for the request gate) and the shared `User` schema.
 */
export async function registerAuth(app: FastifyInstance, container: Container): Promise<Map<onRequestHookHandler, GuardMode>> {
  await container.auth.start();
  const guards = registerAuthGuard(app, container);
  app.addSchema(UserSchema);
  return guards;
}

/** The well-known discovery routes (OpenID configuration, JWKS), at the root. */
export function registerDiscoveryRoutes(app: FastifyInstance, container: Container): void {
  wellKnownRoutes(app, container);
}

/** Under the API prefix: /auth (JSON), /auth/token|revoke|introspect (OAuth, form-encoded), /admin. */
export async function registerAuthRoutes(api: FastifyInstance, container: Container): Promise<void> {
  // Each in its own encapsulated scope: cookies for /auth, the form parser and RFC 6749 errors for OAuth,
  // JSON-only bodies for /auth and /admin.
  await api.register(async (scope) => authRoutes(scope, container));
  await api.register(async (scope) => oauthRoutes(scope, container));
  await api.register(async (scope) => adminRoutes(scope, container));
}
