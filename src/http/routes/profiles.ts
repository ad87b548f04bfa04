import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { ProfileView } from '../../modules/profiles/privacy.js';
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
 * A profile answer. A shared view (frozen: the profile cache's, the same object for every
 * reader of a hot profile) is serialized once, by the route's own response serializer, and its
 * text sent as is; any other view goes through Fastify's serialization as usual. Both give the
 * same bytes.
 */
function profileAnswer(reply: FastifyReply, view: ProfileView): ProfileView | string {
  if (!Object.isFrozen(view)) return view;
  let text = serializedViews.get(view);
  if (text === undefined) serializedViews.set(view, (text = String(reply.serialize(view))));
  reply.type(JSON_UTF8);
  return text;
}
const serializedViews = new WeakMap<ProfileView, string>();
const JSON_UTF8 = 'application/json; charset=utf-8';

/** A view now, or one to come: the answer either way (no promise when there is a view now). */
function answer(reply: FastifyReply, view: ProfileView | Promise<ProfileView>): ProfileView | string | Promise<ProfileView | string> {
  return view instanceof Promise ? view.then((v) => profileAnswer(reply, v)) : profileAnswer(reply, view);
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
    { schema: { tags, security, response: { 200: ProfileSchema } }, config: { prefetch: (_request, userId) => (userId ? profiles.cacheKeys(userId) : []) }, compress: false, ...signedIn },
    (request, reply) => answer(reply, profiles.ownProfile(ownerId(request), request.prefetched)),
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
      compress: false,
      ...anyone,
    },
    (request, reply) => answer(reply, profiles.profileOf(request.auth, request.params.id, request.prefetched)),
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
