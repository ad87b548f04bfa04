import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../config/index.js';

/** OpenAPI 3.1 generated from the route schemas (at the root, before any route: it collects them all). */
export async function registerOpenApi(app: FastifyInstance, config: Readonly<Config>): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Tessera',
        version: config.version,
        description: 'Accounts, profiles and files. Errors are RFC 9457 application/problem+json.',
      },
      servers: [{ url: config.server.publicUrl }],
      components: {
        securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
      },
    },
  });

}

/** The document at /openapi.json, and the docs UI at DOCS_URL. */
export async function openApiRoutes(app: FastifyInstance, config: Readonly<Config>): Promise<void> {
  app.get('/openapi.json', { schema: { hide: true }, config: { apiRateLimit: false } }, async () => app.swagger());

  if (config.server.docsUrl) {
    await app.register(swaggerUi, {
      routePrefix: config.server.docsUrl,
      uiConfig: { deepLinking: true, url: '/openapi.json' } as Record<string, unknown>,
      staticCSP: true,
      transformSpecificationClone: true,
    });
  }
}
