import * as client from 'openid-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, expectProblem, form, FORM_HEADERS, me, registerUser, signedInUser } from '../helpers/auth.js';
import { freePort } from '../helpers/cli.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';
import { RevocationList, revokedSessionKey } from '../../src/modules/auth/revocation.js';

const NO_REQUEST = { ip: null, userAgent: null };

function basic(id: string, secret: string): string {
  return `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;
}

describe(`OAuth 2.0 endpoints (${BACKEND})`, () => {
  let t: TestApp;
  let svc: { client_id: string; client_secret: string };

  const token = (body: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: '/api/v1/auth/token', headers: { ...FORM_HEADERS, ...headers }, payload: body });
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    t.app.inject({ method: 'POST', url: `/api/v1/auth/${path}`, headers: { ...FORM_HEADERS, ...headers }, payload: body });

  function expectOAuthError(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }, status: number, error: string) {
    expect(res.statusCode).toBe(status);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json() as Record<string, unknown>;
    expect(body).toEqual({ error, error_description: expect.any(String) });
  }

  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
    svc = await t.container.auth.clients.create({ name: 'reports', scopes: ['reports:read', 'reports:write'] }, null, NO_REQUEST);
  });
  afterAll(() => t?.close());

  it('grant_type=password gives a pair; scope is checked', async () => {
    const user = await registerUser(t);
    const res = await token(form({ grant_type: 'password', username: user.email, password: user.password }));
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json() as Record<string, unknown>;
    expect(body).toEqual({ access_token: expect.any(String), token_type: 'Bearer', expires_in: 900, refresh_token: expect.any(String), scope: 'user' });
    expect((await me(t, body.access_token as string)).statusCode).toBe(200);
    expectOAuthError(await token(form({ grant_type: 'password', username: user.email, password: 'Wrong-password1!' })), 400, 'invalid_grant');
    expectOAuthError(await token(form({ grant_type: 'password', username: user.email, password: user.password, scope: 'admin' })), 400, 'invalid_scope');
  });

  it('grant_type=refresh_token rotates', async () => {
    const u = await signedInUser(t);
    const res = await token(form({ grant_type: 'refresh_token', refresh_token: u.refreshToken }));
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { refresh_token: string }).refresh_token).not.toBe(u.refreshToken);
    expectOAuthError(await token(form({ grant_type: 'refresh_token', refresh_token: 'A'.repeat(43) })), 400, 'invalid_grant');
  });

  it('client_credentials by HTTP Basic or in the body: a service token with the client scopes', async () => {
    const methods: { headers: Record<string, string>; body: Record<string, string> }[] = [
      { headers: { authorization: basic(svc.client_id, svc.client_secret) }, body: {} },
      { headers: {}, body: { client_id: svc.client_id, client_secret: svc.client_secret } },
    ];
    for (const auth of methods) {
      const res = await token(form({ grant_type: 'client_credentials', ...auth.body }), auth.headers);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json() as { access_token: string; expires_in: number; scope: string };
      expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, scope: 'reports:read reports:write' });
      const claims = JSON.parse(Buffer.from(body.access_token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
      expect(claims).toMatchObject({ sub: svc.client_id, client_id: svc.client_id, scope: 'reports:read reports:write' });
    }
    const narrowed = await token(form({ grant_type: 'client_credentials', scope: 'reports:read' }), { authorization: basic(svc.client_id, svc.client_secret) });
    expect((narrowed.json() as { scope: string }).scope).toBe('reports:read');
    expectOAuthError(await token(form({ grant_type: 'client_credentials', scope: 'admin' }), { authorization: basic(svc.client_id, svc.client_secret) }), 400, 'invalid_scope');
  });

  it('missing or wrong client credentials: 401 invalid_client with WWW-Authenticate: Basic', async () => {
    const cases: { body: string; headers: Record<string, string> }[] = [
      { body: form({ grant_type: 'client_credentials' }), headers: {} },
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: basic(svc.client_id, 'wrong-secret') } },
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: basic('tsc_unknown', svc.client_secret) } },
      { body: form({ grant_type: 'client_credentials', client_id: svc.client_id }), headers: {} },
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: 'Basic !!!' } },
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` } },
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: 'Bearer abc' } },
      // A client_id outside RFC 6749's VSCHARs names no client (a NUL once failed the lookup: 500).
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: basic('tsc_\u0000x', svc.client_secret) } },
      { body: form({ grant_type: 'client_credentials' }), headers: { authorization: basic('tsc_é\u0007', svc.client_secret) } },
    ];
    for (const c of cases) {
      const res = await token(c.body, c.headers);
      expectOAuthError(res, 401, 'invalid_client');
      expect(res.headers['www-authenticate']).toMatch(/^Basic /);
    }
    // The failure is audited, the NUL written escaped.
    const failed = (await t.container.auth.auditEvents.list({ limit: 500 })).filter((e) => e.event === 'client_credentials.failed').map((e) => e.client_id);
    expect(failed).toContain('tsc_\\u0000x');
  });

  it('malformed requests: invalid_request / unsupported_grant_type, never problem+json or 500', async () => {
    expectOAuthError(await token(form({ grant_type: ['password', 'client_credentials'], username: 'a', password: 'b' })), 400, 'invalid_request');
    expectOAuthError(await token(form({ grant_type: 'client_credentials', client_id: [svc.client_id, svc.client_id], client_secret: svc.client_secret })), 400, 'invalid_request');
    expectOAuthError(await token(form({ username: 'a' })), 400, 'invalid_request');
    expectOAuthError(await token(form({ grant_type: 'authorization_code', code: 'x' })), 400, 'unsupported_grant_type');
    expectOAuthError(await token(form({ grant_type: 'password', username: 'a@example.com' })), 400, 'invalid_request');
    expectOAuthError(
      await token(form({ grant_type: 'client_credentials', client_id: svc.client_id, client_secret: svc.client_secret }), { authorization: basic(svc.client_id, svc.client_secret) }),
      400,
      'invalid_request',
    );
    // A NUL in any parameter (name or value) of the three endpoints; it once reached the database.
    for (const [path, body] of [
      ['token', 'grant_type=password&username=a%00b%40example.com&password=x'],
      ['token', 'grant_type=client_credentials&client_id=tsc_%00&client_secret=x'],
      ['token', 'grant_type=refresh_token&refresh_token=a%00b'],
      ['token', 'grant_type=client_credentials&scope=a%00'],
      ['introspect', `token=a%00b&client_id=${encodeURIComponent(svc.client_id)}&client_secret=${encodeURIComponent(svc.client_secret)}`],
      ['revoke', 'token=x&client_id=tsc_%00&client_secret=x'],
      ['token', 'grant_type=password&a%00=1'],
    ] as const) {
      const res = await post(path, body);
      expectOAuthError(res, 400, 'invalid_request');
      expect((res.json() as { error_description: string }).error_description).toMatch(/%00/);
    }
    const json = await t.app.inject({ method: 'POST', url: '/api/v1/auth/token', payload: { grant_type: 'password' } });
    expectOAuthError(json, 400, 'invalid_request');
    const huge = await token(form({ grant_type: 'password', username: 'a@example.com', password: 'x'.repeat(200_000) }));
    expectOAuthError(huge, 413, 'invalid_request');
    // on every endpoint of the three, signed in or not
    for (const path of ['token', 'introspect', 'revoke']) expectOAuthError(await post(path, `token=${'x'.repeat(70_000)}`), 413, 'invalid_request');
  });

  it('introspection (client-authenticated) reports access and refresh tokens, and refuses anonymous callers', async () => {
    const u = await signedInUser(t);
    const auth = { authorization: basic(svc.client_id, svc.client_secret) };
    const active = (await post('introspect', form({ token: u.accessToken }), auth)).json() as Record<string, unknown>;
    expect(active).toMatchObject({ active: true, sub: u.id, scope: 'user', token_type: 'Bearer', iss: t.config.auth.issuer, exp: expect.any(Number) });
    const refresh = (await post('introspect', form({ token: u.refreshToken, token_type_hint: 'refresh_token' }), auth)).json() as Record<string, unknown>;
    expect(refresh).toMatchObject({ active: true, sub: u.id, token_type: 'refresh_token' });
    expect((await post('introspect', form({ token: 'garbage' }), auth)).json()).toEqual({ active: false });
    const anonymous = await post('introspect', form({ token: u.accessToken }));
    expectOAuthError(anonymous, 401, 'invalid_client');
    expectOAuthError(await post('introspect', form({}), auth), 400, 'invalid_request');
  });

  it('revocation (RFC 7009): a user revokes their refresh token; its session ends; unknown tokens are a quiet 200', async () => {
    const u = await signedInUser(t);
    const res = await post('revoke', form({ token: u.refreshToken, token_type_hint: 'refresh_token' }));
    expect(res.statusCode).toBe(200);
    expectProblem(await me(t, u.accessToken), 401, 'invalid_token');
    expect((await post('revoke', form({ token: 'A'.repeat(43) }))).statusCode).toBe(200);
    expect((await post('revoke', form({ token: 'not.a.jwt' }))).statusCode).toBe(200);
  });

  it('a client cannot revoke a token issued to another client', async () => {
    const other = await t.container.auth.clients.create({ name: 'other', scopes: ['x'] }, null, NO_REQUEST);
    const issued = (await token(form({ grant_type: 'client_credentials' }), { authorization: basic(svc.client_id, svc.client_secret) })).json() as { access_token: string };
    await post('revoke', form({ token: issued.access_token }), { authorization: basic(other.client_id, other.client_secret) });
    const check = (await post('introspect', form({ token: issued.access_token }), { authorization: basic(svc.client_id, svc.client_secret) })).json();
    expect(check).toMatchObject({ active: true });
  });

  // The embedded store is memory (a restart empties it), and Redis may run without persistence:
  // a revocation that lived only there would be forgotten, and the token would work again.
  it('a revoked service token stays revoked after the key-value store loses its entries', async () => {
    const issued = (await token(form({ grant_type: 'client_credentials' }), { authorization: basic(svc.client_id, svc.client_secret) })).json() as { access_token: string };
    const sid = (JSON.parse(Buffer.from(issued.access_token.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
    const introspect = async () => (await post('introspect', form({ token: issued.access_token }), { authorization: basic(svc.client_id, svc.client_secret) })).json() as { active: boolean };
    expect((await me(t, issued.access_token)).statusCode).not.toBe(401);
    expect((await post('revoke', form({ token: issued.access_token }), { authorization: basic(svc.client_id, svc.client_secret) })).statusCode).toBe(200);
    expect((await me(t, issued.access_token)).statusCode).toBe(401);

    // What a restart of the store leaves: neither the entry nor the "list loaded" marker.
    await t.container.kv.del(revokedSessionKey(sid), RevocationList.LOADED_KEY);
    expect(await t.container.kv.get(revokedSessionKey(sid))).toBeNull();
    expect((await me(t, issued.access_token)).statusCode).toBe(401);
    expect(await introspect()).toEqual({ active: false });
    // Introspection on its own notices the loss too (no guarded request reloads the list first).
    await t.container.kv.del(revokedSessionKey(sid), RevocationList.LOADED_KEY);
    expect(await introspect()).toEqual({ active: false });
    expect(await t.container.kv.get(RevocationList.LOADED_KEY)).not.toBeNull();
    const audit = await t.container.database.db.selectFrom('audit_events').selectAll().where('event', '=', 'service_token.revoked').execute();
    expect(audit.map((e) => e.client_id)).toContain(svc.client_id);
  });

  it('deleting a client stops its tokens at once', async () => {
    const doomed = await t.container.auth.clients.create({ name: 'doomed', scopes: ['x'] }, null, NO_REQUEST);
    const issued = (await token(form({ grant_type: 'client_credentials' }), { authorization: basic(doomed.client_id, doomed.client_secret) })).json() as { access_token: string };
    await t.container.auth.clients.delete(doomed.client_id, null, NO_REQUEST);
    const check = (await post('introspect', form({ token: issued.access_token }), { authorization: basic(svc.client_id, svc.client_secret) })).json();
    expect(check).toEqual({ active: false });
    expectOAuthError(await token(form({ grant_type: 'client_credentials' }), { authorization: basic(doomed.client_id, doomed.client_secret) }), 401, 'invalid_client');
  });

  it('counts tokens issued by grant in the metrics', async () => {
    const metrics = (await t.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    expect(metrics).toMatch(/tessera_tokens_issued_total\{grant="client_credentials"\} [1-9]/);
    expect(metrics).toMatch(/tessera_tokens_issued_total\{grant="password"\} [1-9]/);
    expect(metrics).toMatch(/tessera_tokens_issued_total\{grant="refresh_token"\} [1-9]/);
    expect(metrics).toMatch(/tessera_login_attempts_total\{outcome="success"\} [1-9]/);
    void bearer;
  });
});

describe(`openid-client, unmodified, against a listening server (${BACKEND})`, () => {
  let t: TestApp;
  let issuer: string;
  beforeAll(async () => {
    const port = await freePort();
    issuer = `http://127.0.0.1:${port}`;
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, PUBLIC_URL: issuer, PORT: String(port) } });
    await t.app.listen({ host: '127.0.0.1', port });
  });
  afterAll(() => t?.close());

  it('discovers the issuer, gets a client_credentials token, introspects and revokes it', async () => {
    const svc = await t.container.auth.clients.create({ name: 'oidc-lib', scopes: ['files:read'] }, null, NO_REQUEST);
    const config = await client.discovery(new URL(issuer), svc.client_id, svc.client_secret, undefined, { execute: [client.allowInsecureRequests] });
    expect(config.serverMetadata().token_endpoint).toBe(`${issuer}/api/v1/auth/token`);

    const tokens = await client.clientCredentialsGrant(config, { scope: 'files:read' });
    expect(tokens.token_type.toLowerCase()).toBe('bearer');
    expect(tokens.scope).toBe('files:read');
    expect(tokens.expiresIn()).toBeGreaterThan(0);

    const introspected = await client.tokenIntrospection(config, tokens.access_token);
    expect(introspected).toMatchObject({ active: true, client_id: svc.client_id, scope: 'files:read' });

    await client.tokenRevocation(config, tokens.access_token);
    expect(await client.tokenIntrospection(config, tokens.access_token)).toMatchObject({ active: false });
  });

  it('also with client_secret_post', async () => {
    const svc = await t.container.auth.clients.create({ name: 'oidc-post', scopes: ['a'] }, null, NO_REQUEST);
    const config = await client.discovery(new URL(issuer), svc.client_id, undefined, client.ClientSecretPost(svc.client_secret), { execute: [client.allowInsecureRequests] });
    const tokens = await client.clientCredentialsGrant(config);
    expect((await client.tokenIntrospection(config, tokens.access_token)).active).toBe(true);
  });
});
