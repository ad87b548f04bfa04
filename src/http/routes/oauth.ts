import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import type { ErrorCode } from '../../errors/codes.js';
import { OAuthError, type ClientCredentials } from '../../modules/auth/oauth.service.js';
import type { OAuthClientRow } from '../../repositories/oauth-clients.repository.js';
import { createRateLimiter, type RateLimitName } from '../plugins/rate-limit.js';
import { requestContext } from '../request-context.js';

/** A form body as RFC 6749 reads it: empty values are absent, repeated parameters are an error. */
interface FormBody {
  params: Map<string, string>;
  repeated: string[];
  /** parameters whose name or value holds a NUL (none accepts one; PostgreSQL cannot store it) */
  withNul: string[];
}

const FORM = 'application/x-www-form-urlencoded';

function parseForm(text: string): FormBody {
  const params = new Map<string, string>();
  const repeated = new Set<string>();
  const withNul = new Set<string>();
  for (const [key, value] of new URLSearchParams(text)) {
    if (key.includes('\u0000') || value.includes('\u0000')) withNul.add(key.replaceAll('\u0000', '%00'));
    if (value === '') continue;
    if (params.has(key)) repeated.add(key);
    params.set(key, value);
  }
  return { params, repeated: [...repeated], withNul: [...withNul] };
}

function formOf(request: FastifyRequest): Map<string, string> {
  const type = (request.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
  if (type !== FORM) throw new OAuthError('invalid_request', `The body must be ${FORM}`);
  const body = request.body as FormBody | undefined;
  if (!body) return new Map();
  if (body.repeated.length) throw new OAuthError('invalid_request', `Parameters must not be repeated: ${body.repeated.join(', ')}`);
  if (body.withNul.length) throw new OAuthError('invalid_request', `Parameters must not contain %00 (U+0000): ${body.withNul.join(', ')}`);
  return body.params;
}

function required(form: Map<string, string>, name: string): string {
  const v = form.get(name);
  if (!v) throw new OAuthError('invalid_request', `Missing parameter: ${name}`);
  return v;
}

function scopesOf(form: Map<string, string>): string[] | null {
  const s = form.get('scope');
  return s ? s.split(' ').filter(Boolean) : null;
}

/** RFC 6749 §2.3.1: HTTP Basic (form-encoded id and secret) or client_id/client_secret in the body, never both. */
function clientCredentials(request: FastifyRequest, form: Map<string, string>): ClientCredentials | null {
  const header = request.headers.authorization;
  const inBody = form.has('client_id') || form.has('client_secret');
  if (header !== undefined) {
    if (inBody) throw new OAuthError('invalid_request', 'Use one client authentication method, not both');
    const m = /^Basic ([A-Za-z0-9+/]+=*)$/i.exec(header.trim());
    if (!m) throw new OAuthError('invalid_client', 'Client authentication must use HTTP Basic');
    const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials');
    try {
      const unescape = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
      return { clientId: unescape(decoded.slice(0, colon)), clientSecret: unescape(decoded.slice(colon + 1)) };
    } catch {
      throw new OAuthError('invalid_client', 'Malformed HTTP Basic credentials');
    }
  }
  if (!inBody) return null;
  const clientId = form.get('client_id');
  const clientSecret = form.get('client_secret');
  if (!clientId || !clientSecret) throw new OAuthError('invalid_client', 'Client authentication needs client_id and client_secret');
  return { clientId, clientSecret };
}

// What the services' problem codes mean in RFC 6749 terms.
const GRANT_ERRORS: Partial<Record<ErrorCode, OAuthError['error']>> = {
  invalid_credentials: 'invalid_grant',
  email_not_verified: 'invalid_grant',
  invalid_refresh_token: 'invalid_grant',
  token_reused: 'invalid_grant',
  invalid_scope: 'invalid_scope',
  validation_failed: 'invalid_request',
  malformed_json: 'invalid_request',
  bad_request: 'invalid_request',
  unsupported_media_type: 'invalid_request',
  payload_too_large: 'invalid_request',
};

function sendOAuthError(request: FastifyRequest, reply: FastifyReply, err: unknown) {
  reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
  if (err instanceof OAuthError) {
    if (err.error === 'invalid_client') reply.header('www-authenticate', 'Basic realm="tessera", charset="UTF-8"');
    return reply.code(err.status).send({ error: err.error, error_description: err.description });
  }
  const appError = err instanceof AppError ? err : undefined;
  const fastifyError = err as FastifyError;
  if (appError?.code === 'rate_limited') {
    if (appError.headers) reply.headers(appError.headers);
    return reply.code(429).send({ error: 'slow_down', error_description: appError.detail ?? 'Too many requests' });
  }
  const mapped = appError ? GRANT_ERRORS[appError.code] : fastifyError?.validation ? 'invalid_request' : undefined;
  if (mapped) return reply.code(appError?.status === 413 ? 413 : 400).send({ error: mapped, error_description: appError?.title ?? 'The request is malformed' });
  const status = appError?.status ?? fastifyError?.statusCode ?? 500;
  // A form over its limit keeps SPEC's 413 (with an RFC 6749 body); any other client error is 400.
  if (status === 413) return reply.code(413).send({ error: 'invalid_request', error_description: 'The request body is too large' });
  if (status >= 400 && status < 500) return reply.code(400).send({ error: 'invalid_request', error_description: appError?.title ?? 'The request is malformed' });
  const unavailable = status === 503;
  request.log[unavailable ? 'warn' : 'error']({ err }, 'oauth endpoint failed');
  return reply
    .code(unavailable ? 503 : 500)
    .send({ error: unavailable ? 'temporarily_unavailable' : 'server_error', error_description: unavailable ? 'Try again shortly' : 'Internal server error' });
}

/** POST /auth/token, /auth/revoke, /auth/introspect: form-encoded, RFC 6749 §5.2 errors, never cached. */
export async function oauthRoutes(app: FastifyInstance, container: Container): Promise<void> {
  const { config } = container;
  const { oauth, signIn, sessions } = container.auth;
  const limiter = createRateLimiter(container.kv, container.metrics, config.rateLimit);

  app.addContentTypeParser(FORM, { parseAs: 'string', bodyLimit: 64 * 1024 }, (_request, body, done) => done(null, parseForm(body as string)));
  app.setErrorHandler((err, request, reply) => sendOAuthError(request, reply, err));

  const authenticate = async (request: FastifyRequest, form: Map<string, string>, mustAuthenticate: boolean): Promise<OAuthClientRow | null> => {
    const credentials = clientCredentials(request, form);
    if (!credentials) {
      if (mustAuthenticate) throw new OAuthError('invalid_client', 'Client authentication is required');
      return null;
    }
    return oauth.authenticateClient(credentials, requestContext(request));
  };

  const limit = async (request: FastifyRequest, reply: FastifyReply, name: RateLimitName) => {
    const headers: Record<string, string> = {};
    await limiter.check(name, config.rateLimit[name], `ip:${request.ip}`, headers);
    reply.headers(headers);
  };

  const schema = { tags: ['oauth'], consumes: [FORM] };

  app.post('/auth/token', { schema }, async (request, reply) => {
    const form = formOf(request);
    const grant = required(form, 'grant_type');
    const context = requestContext(request);
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    switch (grant) {
      case 'password': {
        await limit(request, reply, 'login');
        const client = await authenticate(request, form, false);
        const username = required(form, 'username');
        const password = required(form, 'password');
        if (username.length > 320 || password.length > 4096) throw new AppError('invalid_credentials');
        const result = await signIn.signIn(username, password, context, { scope: scopesOf(form) ?? [], clientId: client?.client_id ?? null });
        const { access_token, token_type, expires_in, refresh_token, scope } = result;
        return { access_token, token_type, expires_in, refresh_token, scope };
      }
      case 'refresh_token': {
        await limit(request, reply, 'refresh');
        const client = await authenticate(request, form, false);
        const pair = await sessions.refresh(required(form, 'refresh_token'), context, client?.client_id ?? null);
        const requested = scopesOf(form);
        if (requested && requested.some((s) => !pair.scope.split(' ').includes(s))) throw new OAuthError('invalid_scope', 'A refresh cannot widen the scope');
        const { access_token, token_type, expires_in, refresh_token, scope } = pair;
        return { access_token, token_type, expires_in, refresh_token, scope };
      }
      case 'client_credentials': {
        await limit(request, reply, 'serviceToken');
        const client = (await authenticate(request, form, true))!;
        return oauth.clientCredentials(client, scopesOf(form));
      }
      default:
        throw new OAuthError('unsupported_grant_type', `Supported: password, refresh_token, client_credentials`);
    }
  });

  // RFC 7662: for resource servers, so the client must authenticate.
  app.post('/auth/introspect', { schema }, async (request, reply) => {
    const form = formOf(request);
    await authenticate(request, form, true);
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return oauth.introspect(required(form, 'token'));
  });

  // RFC 7009: 200 whether or not the token was valid, known or already revoked.
  app.post('/auth/revoke', { schema }, async (request, reply) => {
    const form = formOf(request);
    const client = await authenticate(request, form, false);
    await oauth.revoke(required(form, 'token'), client, requestContext(request));
    reply.header('cache-control', 'no-store').header('pragma', 'no-cache');
    return reply.code(200).send();
  });
}
