import type { FastifyInstance } from 'fastify';
import type { Container } from '../container.js';
import { registerAuthGuard } from './plugins/auth-guard.js';
import { adminRoutes } from './routes/admin.js';
import { authRoutes } from './routes/auth.js';
import { oauthRoutes } from './routes/oauth.js';
import { wellKnownRoutes } from './routes/well-known.js';
import { UserSchema } from './schemas/auth.js';

/**
 * At the root, before any route: start the auth module (signing key loaded or created, recent
 * revocations replayed), the request guard (`app.authenticate`, `app.authenticateOptional`,
 * `app.requireAdmin`), the shared `User` schema and the well-known discovery routes.
 */
export async function registerAuth(app: FastifyInstance, container: Container): Promise<void> {
  await container.auth.start();
  registerAuthGuard(app, container);
  app.addSchema(UserSchema);
  wellKnownRoutes(app, container);
}

/** Under the API prefix: /auth (JSON), /auth/token|revoke|introspect (OAuth, form-encoded), /admin. */
export async function registerAuthRoutes(api: FastifyInstance, container: Container): Promise<void> {
  // Each in its own encapsulated scope: cookies for /auth, the form parser and RFC 6749 errors for OAuth.
  await api.register(async (scope) => authRoutes(scope, container));
  await api.register(async (scope) => oauthRoutes(scope, container));
  adminRoutes(api, container);
}
