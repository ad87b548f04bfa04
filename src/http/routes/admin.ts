import type { FastifyInstance } from 'fastify';
import type { Static } from 'typebox';
import type { Container } from '../../container.js';
import type { Principal } from '../../modules/auth/authenticator.js';
import { decodeCursor, encodeCursor } from '../../modules/pagination/cursor.js';
import { requestContext } from '../request-context.js';
import {
  AdminUserResponse,
  AdminUsersQuery,
  AdminUsersResponse,
  ClientIdParams,
  ClientsResponse,
  CreateClientBody,
  CreatedClientSchema,
  LockUserBody,
  UserIdParams,
} from '../schemas/admin.js';

const tags = ['admin'];
const security = [{ bearerAuth: [] }];
const noContent = { 204: { type: 'null' } };

/** /admin: role `admin` (others 403). Every action is audit-logged with the admin as actor. */
export function adminRoutes(app: FastifyInstance, container: Container): void {
  const { admin, clients } = container.auth;
  const guarded = { onRequest: [app.requireAdmin] };
  // JSON bodies only: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');
  const actor = (auth: Principal | null) => (auth?.kind === 'user' ? auth.userId : null);

  app.get<{ Querystring: Static<typeof AdminUsersQuery> }>(
    '/admin/users',
    { schema: { tags, security, querystring: AdminUsersQuery, response: { 200: AdminUsersResponse } }, ...guarded },
    async (request, reply) => {
      const { q, cursor, limit } = request.query;
      // The installation-wide cursor keys (shared with the other lists), one key per list.
      const key = await container.profiles.cursorKeys.forList('admin-users');
      const after = cursor ? decodeCursor<{ createdAt: string; id: string }>(cursor, key) : null;
      const page = await admin.searchUsers(q ?? null, after, limit ?? 50);
      reply.header('cache-control', 'no-store');
      return { items: page.items, next_cursor: page.next ? encodeCursor(page.next, key) : null };
    },
  );

  app.post<{ Params: Static<typeof UserIdParams>; Body: Static<typeof LockUserBody> | undefined }>(
    '/admin/users/:id/lock',
    { schema: { tags, security, params: UserIdParams, body: LockUserBody, response: { 200: AdminUserResponse } }, ...guarded },
    async (request) => ({ user: await admin.lockUser(actor(request.auth), request.params.id, request.body?.minutes ?? null, requestContext(request)) }),
  );

  app.post<{ Params: Static<typeof UserIdParams> }>(
    '/admin/users/:id/unlock',
    { schema: { tags, security, params: UserIdParams, response: { 200: AdminUserResponse } }, ...guarded },
    async (request) => ({ user: await admin.unlockUser(actor(request.auth), request.params.id, requestContext(request)) }),
  );

  app.delete<{ Params: Static<typeof UserIdParams> }>(
    '/admin/users/:id/sessions',
    { schema: { tags, security, params: UserIdParams, response: noContent }, ...guarded },
    async (request, reply) => {
      await admin.revokeSessions(actor(request.auth), request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );

  app.get('/admin/clients', { schema: { tags, security, response: { 200: ClientsResponse } }, ...guarded }, async (_request, reply) => {
    reply.header('cache-control', 'no-store');
    return { items: await clients.list(), next_cursor: null };
  });

  app.post<{ Body: Static<typeof CreateClientBody> }>(
    '/admin/clients',
    { schema: { tags, security, body: CreateClientBody, response: { 201: CreatedClientSchema } }, ...guarded },
    async (request, reply) => {
      const created = await clients.create(request.body, actor(request.auth), requestContext(request));
      return reply.code(201).header('cache-control', 'no-store').send(created);
    },
  );

  app.delete<{ Params: Static<typeof ClientIdParams> }>(
    '/admin/clients/:client_id',
    { schema: { tags, security, params: ClientIdParams, response: noContent }, ...guarded },
    async (request, reply) => {
      await clients.delete(request.params.client_id, actor(request.auth), requestContext(request));
      return reply.code(204).send();
    },
  );
}
