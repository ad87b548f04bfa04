import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { readSingleFile, singleFileMultipartLimits } from '../file-upload.js';
import { noStoreUnlessSet } from '../plugins/security.js';
import {
  AvatarResponse,
  PreferencesPatchBody,
  PreferencesSchema,
  ProfilePage,
  ProfilePatchBody,
  ProfileSchema,
  ProfileSearchQuery,
  UserIdParams,
} from '../schemas/profiles.js';

const tags = ['profiles'];
const security = [{ bearerAuth: [] }];
/** Profile and preference bodies are a few hundred bytes: anything near 16 KiB is not one (413). */
const SMALL_BODY_LIMIT = 16 * 1024;

/** The signed-in user's id (the `authenticate` hook has made sure there is one). */
function ownerId(request: FastifyRequest): string {
  if (request.auth?.kind !== 'user') throw new AppError('unauthorized');
  return request.auth.userId;
}

/**
 * /users: profiles, preferences and avatars (SPEC "Profiles, preferences, privacy").
 * Privacy is decided in the profiles service; nothing here shapes what a viewer may see.
 * Profile answers are never stored by shared caches: they change with privacy at once.
 */
export async function profileRoutes(app: FastifyInstance, container: Container): Promise<void> {
  const { config } = container;
  const { profiles, preferences, avatars } = container.profiles;
  const maxAvatarBytes = config.avatars.maxSizeMb * 1024 * 1024;
  // JSON bodies and the avatar form only: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');

  const signedIn = { onRequest: [app.authenticate] };
  const anyone = { onRequest: [app.authenticateOptional] };
  const profileUpdateLimit = { rateLimit: ['profileUpdate' as const] };

  app.addHook('onSend', noStoreUnlessSet);

  app.get(
    '/users/me/profile',
    { schema: { tags, security, response: { 200: ProfileSchema } }, config: { prefetch: (_request, userId) => (userId ? profiles.cacheKeys(userId) : []) }, ...signedIn },
    (request) => profiles.ownProfile(ownerId(request), request.prefetched),
  );

  app.patch<{ Body: Static<typeof ProfilePatchBody> }>(
    '/users/me/profile',
    { schema: { tags, security, body: ProfilePatchBody, response: { 200: ProfileSchema } }, bodyLimit: SMALL_BODY_LIMIT, config: profileUpdateLimit, ...signedIn },
    async (request) => profiles.updateOwnProfile(ownerId(request), request.body),
  );

  app.get<{ Params: Static<typeof UserIdParams> }>(
    '/users/:id/profile',
    {
      schema: { tags, params: UserIdParams, response: { 200: ProfileSchema } },
      // Params are not validated yet at that point: cacheKeys reads nothing for a malformed id.
      config: { prefetch: (request) => profiles.cacheKeys((request.params as { id: string }).id) },
      ...anyone,
    },
    (request) => profiles.profileOf(request.auth, request.params.id, request.prefetched),
  );

  app.get<{ Querystring: Static<typeof ProfileSearchQuery> }>(
    '/users',
    { schema: { tags, querystring: ProfileSearchQuery, response: { 200: ProfilePage } }, ...anyone },
    async (request) => profiles.search(request.auth, request.query),
  );

  app.get('/users/me/preferences', { schema: { tags, security, response: { 200: PreferencesSchema } }, ...signedIn }, async (request) =>
    preferences.get(ownerId(request)),
  );

  app.patch<{ Body: Static<typeof PreferencesPatchBody> }>(
    '/users/me/preferences',
    { schema: { tags, security, body: PreferencesPatchBody, response: { 200: PreferencesSchema } }, bodyLimit: SMALL_BODY_LIMIT, config: profileUpdateLimit, ...signedIn },
    async (request) => preferences.update(ownerId(request), request.body),
  );

  // The multipart parser in the avatar upload's own scope: its hooks run on no other route.
  await app.register(async (upload) => {
    await upload.register(multipart, { limits: singleFileMultipartLimits(maxAvatarBytes) });
    upload.put(
      '/users/me/avatar',
      {
        schema: {
          tags,
          security,
          description: `multipart/form-data with one image in the field "file" (JPEG, PNG or WebP, at most MAX_AVATAR_SIZE_MB)`,
          consumes: ['multipart/form-data'],
          response: { 200: AvatarResponse },
        },
        config: { rateLimit: ['avatarUpload'], upload: true },
        ...signedIn,
      },
      async (request, reply) => {
        try {
          return await avatars.replace(ownerId(request), () => readSingleFile(request, { field: 'file', maxBytes: maxAvatarBytes }));
        } catch (err) {
          // Refused before the body was read to its end: don't read (or keep waiting for) the rest.
          if (!request.raw.readableEnded) reply.header('connection', 'close');
          throw err;
        }
      },
    );
  });

  app.delete(
    '/users/me/avatar',
    { schema: { tags, security, response: { 204: { type: 'null' } } }, config: profileUpdateLimit, ...signedIn },
    async (request, reply) => {
      await avatars.remove(ownerId(request));
      return reply.code(204).send();
    },
  );
}
