import type { FastifyInstance } from 'fastify';
import type { LocalObjectStorage } from '../../adapters/object-storage/local.js';
import { InvalidObjectKeyError } from '../../adapters/object-storage/object-key.js';
import { ObjectNotFoundError } from '../../adapters/object-storage/object-storage.js';
import { AppError } from '../../errors/app-error.js';
import { CACHE_CONTROL_IMMUTABLE } from '../../modules/avatars/avatar-processor.js';

/**
 * GET /uploads/<key>: the public objects (avatars) of the local store, as S3 or a CDN would
 * serve them. Only objects stored public are served (user files never are); a key that is
 * invalid or would leave DATA_DIR/uploads is a 404 like a missing one. Keys are content-
 * addressed, so what is served never changes: cached for a year, immutable.
 */
export function uploadsRoutes(app: FastifyInstance, storage: LocalObjectStorage): void {
  app.get<{ Params: { '*': string } }>(
    '/uploads/*',
    { schema: { hide: true }, config: { apiRateLimit: false } },
    async (request, reply) => {
      let object;
      try {
        object = await storage.getPublic(request.params['*']);
      } catch (err) {
        if (err instanceof ObjectNotFoundError || err instanceof InvalidObjectKeyError) {
          throw new AppError('not_found', { detail: 'No such file' });
        }
        throw err;
      }
      return reply
        .header('content-type', object.contentType)
        .header('content-length', object.contentLength)
        .header('cache-control', CACHE_CONTROL_IMMUTABLE)
        .header('x-content-type-options', 'nosniff')
        // an avatar is shown on other sites' pages too (the web app, e-mails, embeds)
        .header('cross-origin-resource-policy', 'cross-origin')
        // opened on its own, nothing in it may run
        .header('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox")
        .header('content-disposition', 'inline')
        .send(object.stream);
    },
  );
}
