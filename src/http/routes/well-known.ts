import type { FastifyInstance } from 'fastify';
import type { Container } from '../../container.js';

/**
 * Discovery for other services and OAuth libraries: the public signing keys and the
 * authorization-server metadata (RFC 8414; also at the OpenID path, which libraries such as
 * openid-client look up first).
 */
export function wellKnownRoutes(app: FastifyInstance, container: Container): void {
  const { config } = container;
  const api = `${config.server.publicUrl}${config.server.apiPrefix}`;
  const metadata = {
    issuer: config.auth.issuer,
    token_endpoint: `${api}/auth/token`,
    revocation_endpoint: `${api}/auth/revoke`,
    introspection_endpoint: `${api}/auth/introspect`,
    jwks_uri: `${config.server.publicUrl}/.well-known/jwks.json`,
    grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    response_types_supported: ['token'],
    scopes_supported: ['user', 'admin'],
    token_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    revocation_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post', 'none'],
    introspection_endpoint_auth_methods_supported: ['client_secret_basic', 'client_secret_post'],
    // Access tokens are RFC 9068 JWTs signed with this algorithm.
    access_token_signing_alg_values_supported: [config.auth.algorithm],
    subject_types_supported: ['public'],
    claims_supported: ['sub', 'sid', 'scope', 'iss', 'aud', 'exp', 'iat', 'jti', 'client_id'],
  };
  const common = { schema: { tags: ['oauth'] }, config: { apiRateLimit: false } };

  for (const path of ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server']) {
    app.get(path, common, async (_request, reply) => {
      reply.header('cache-control', 'public, max-age=300');
      return metadata;
    });
  }

  app.get('/.well-known/jwks.json', common, async (_request, reply) => {
    // Short: a rotated-in key must reach verifiers well before the old key's tokens run out.
    reply.header('cache-control', 'public, max-age=300');
    return container.auth.keys.jwks();
  });
}
