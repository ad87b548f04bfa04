import cookie from '@fastify/cookie';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Static } from 'typebox';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { bearerToken } from '../../modules/auth/authenticator.js';
import type { TokenPair } from '../../modules/auth/sessions.service.js';
import { clearRefreshCookie, isWebClient, presentedRefreshToken, setRefreshCookie } from '../refresh-cookie.js';
import { requestContext } from '../request-context.js';
import {
  LoginBody,
  LoginResponse,
  RefreshResponse,
  RegisterBody,
  SessionParams,
  SessionsResponse,
  UserResponse,
} from '../schemas/auth.js';
import { accountRoutes } from './auth-account.js';

const tags = ['auth'];
const secured = [{ bearerAuth: [] }];

/** The token part of a response: web clients get the refresh token as a cookie instead of in the body. */
export function tokenResponse(request: FastifyRequest, reply: FastifyReply, config: Container['config'], pair: TokenPair) {
  const body = { access_token: pair.access_token, token_type: pair.token_type, expires_in: pair.expires_in, scope: pair.scope };
  reply.header('cache-control', 'no-store');
  if (isWebClient(request)) {
    setRefreshCookie(reply, config, pair.refresh_token);
    return body;
  }
  return { ...body, refresh_token: pair.refresh_token };
}

/** `{refresh_token?}` or no body at all; anything else is a 422 like a schema would give. */
function refreshTokenInBody(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body !== 'object' || Array.isArray(body)) throw new AppError('validation_failed', { errors: [{ field: '(body)', message: 'must be an object' }] });
  const { refresh_token: token, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest).map((field) => ({ field, message: 'is not a known field' }));
  if (token !== undefined && (typeof token !== 'string' || token.length === 0 || token.length > 512)) {
    unknown.push({ field: 'refresh_token', message: 'must be a non-empty string' });
  }
  if (unknown.length) throw new AppError('validation_failed', { errors: unknown });
  return token as string | undefined;
}

/** POST /auth/register, /auth/login, /auth/refresh, /auth/logout(-all), GET /auth/me, sessions. */
export async function authRoutes(app: FastifyInstance, container: Container): Promise<void> {
  const { config } = container;
  const { accounts, signIn, sessions, authenticator, audit } = container.auth;
  // Cookies are read only here: the refresh cookie is scoped to /api/v1/auth.
  await app.register(cookie, { hook: false });
  // JSON bodies only: a text/plain body is a 415, not a string to validate.
  app.removeContentTypeParser('text/plain');

  app.post<{ Body: Static<typeof RegisterBody> }>(
    '/auth/register',
    { schema: { tags, body: RegisterBody, response: { 201: UserResponse } }, config: { rateLimit: ['register'] } },
    async (request, reply) => {
      const user = await accounts.register(request.body, requestContext(request));
      return reply.code(201).send({ user });
    },
  );

  app.post<{ Body: Static<typeof LoginBody> }>(
    '/auth/login',
    { schema: { tags, body: LoginBody, response: { 200: LoginResponse } }, config: { rateLimit: ['login'] } },
    async (request, reply) => {
      const result = await signIn.signIn(request.body.email, request.body.password, requestContext(request));
      return { ...tokenResponse(request, reply, config, result), user: result.user, password_expired: result.password_expired };
    },
  );

  // Body optional (web clients send none: the token is in the cookie), so it is checked here, not by a schema.
  app.post(
    '/auth/refresh',
    { schema: { tags, response: { 200: RefreshResponse } }, config: { rateLimit: ['refresh'] } },
    async (request, reply) => {
      const token = presentedRefreshToken(request, refreshTokenInBody(request.body));
      if (!token) throw new AppError('validation_failed', { errors: [{ field: 'refresh_token', message: 'is required (or the tessera_refresh cookie, for web clients)' }] });
      try {
        const pair = await sessions.refresh(token, requestContext(request));
        return tokenResponse(request, reply, config, pair);
      } catch (err) {
        if (isWebClient(request)) clearRefreshCookie(reply, config);
        throw err;
      }
    },
  );

  // Signs this session out: the one of the refresh token (body or cookie), else of the access token.
  app.post(
    '/auth/logout',
    { schema: { tags, response: { 204: { type: 'null' } } } },
    async (request, reply) => {
      const context = requestContext(request);
      const refreshToken = presentedRefreshToken(request, refreshTokenInBody(request.body));
      let target: { sessionId: string; userId: string } | null = null;
      if (refreshToken) target = await sessions.sessionOfRefreshToken(refreshToken);
      if (!refreshToken) {
        const access = bearerToken(request.headers.authorization);
        if (!access) throw new AppError('unauthorized', { detail: 'Send the access token or the refresh token of the session to end', headers: { 'www-authenticate': 'Bearer realm="tessera"' } });
        const principal = await authenticator.authenticate(access);
        if (principal.kind === 'user') target = { sessionId: principal.sessionId, userId: principal.userId };
      }
      if (target && (await sessions.revoke(target.sessionId, 'signed_out'))) {
        await audit.record('session.revoked', { userId: target.userId, details: { session_id: target.sessionId, via: 'logout' } }, context);
      }
      if (isWebClient(request)) clearRefreshCookie(reply, config);
      return reply.code(204).send();
    },
  );

  app.post('/auth/logout-all', { schema: { tags, security: secured, response: { 204: { type: 'null' } } }, onRequest: [app.authenticate] }, async (request, reply) => {
    const principal = request.auth!;
    if (principal.kind !== 'user') throw new AppError('forbidden');
    const ended = await sessions.revokeAll('signed_out_everywhere', { userId: principal.userId });
    await audit.record('sessions.revoked_all', { userId: principal.userId, details: { sessions_ended: ended } }, requestContext(request));
    if (isWebClient(request)) clearRefreshCookie(reply, config);
    return reply.code(204).send();
  });

  // The hot path: verified-token cache + one key-value round trip (revocation and the cached user).
  // The answer is a few hundred bytes (every field is bounded): never worth compressing. When the
  // user came with that round trip, it is answered in the same tick (no promise).
  app.get(
    '/auth/me',
    { schema: { tags, security: secured, response: { 200: UserResponse } }, onRequest: [app.authenticate], compress: false },
    (request, reply) => {
      reply.header('cache-control', 'no-store');
      const principal = request.auth!;
      if (principal.kind === 'user' && principal.cachedUser) return { user: principal.cachedUser };
      return accounts.currentUser(principal).then((user) => ({ user }));
    },
  );

  app.get('/auth/sessions', { schema: { tags, security: secured, response: { 200: SessionsResponse } }, onRequest: [app.authenticate] }, async (request, reply) => {
    const principal = request.auth!;
    if (principal.kind !== 'user') throw new AppError('forbidden');
    reply.header('cache-control', 'no-store');
    // A person has a handful of sessions: one page, no cursor.
    return { items: await sessions.list(principal.userId, principal.sessionId), next_cursor: null };
  });

  app.delete<{ Params: Static<typeof SessionParams> }>(
    '/auth/sessions/:id',
    { schema: { tags, security: secured, params: SessionParams, response: { 204: { type: 'null' } } }, onRequest: [app.authenticate] },
    async (request, reply) => {
      const principal = request.auth!;
      if (principal.kind !== 'user') throw new AppError('forbidden');
      await sessions.revokeOwn(principal.userId, request.params.id, requestContext(request));
      return reply.code(204).send();
    },
  );

  accountRoutes(app, container);
}
