import { generateKeyPairSync } from 'node:crypto';
import { SignJWT, type JWK } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, decodeJwt, expectProblem, me, signedInUser, type SignedIn } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

function b64(value: unknown): string {
  return Buffer.from(JSON.stringify(value)).toString('base64url');
}

describe(`access tokens, JWKS and discovery (${BACKEND})`, () => {
  let t: TestApp;
  let u: SignedIn;
  let claims: Record<string, unknown>;
  let header: Record<string, unknown>;

  /** A token signed with Tessera's own current key, with the given claims changed. */
  async function signedWithRealKey(overrides: Record<string, unknown>): Promise<string> {
    const { key, kid } = await t.container.auth.keys.current();
    const payload = { ...claims, jti: crypto.randomUUID(), ...overrides };
    return new SignJWT(payload).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: kid! }).sign(key);
  }

  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, JWT_SECRET_KEY: 'an-encryption-secret-of-at-least-32-bytes' } });
    u = await signedInUser(t);
    claims = decodeJwt(u.accessToken);
    header = JSON.parse(Buffer.from(u.accessToken.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  });
  afterAll(() => t?.close());

  it('tokens are EdDSA, typ at+jwt, with the kid of a key published in the JWKS', async () => {
    expect(header).toMatchObject({ alg: 'EdDSA', typ: 'at+jwt', kid: expect.any(String) });
    const res = await t.app.inject('/.well-known/jwks.json');
    expect(res.statusCode).toBe(200);
    const { keys } = res.json() as { keys: JWK[] };
    expect(keys).toEqual([{ kty: 'OKP', crv: 'Ed25519', x: expect.any(String), kid: header.kid, alg: 'EdDSA', use: 'sig' }]);
    expect(JSON.stringify(keys)).not.toContain('"d"');
  });

  it('the private key is stored encrypted (AES-256-GCM) when a secret is set', async () => {
    const rows = await t.container.database.db.selectFrom('signing_keys').select(['kid', 'private_key']).execute();
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(r.private_key).toMatch(/^aes256gcm:/);
  });

  it('OpenID / RFC 8414 discovery names the issuer, the endpoints and the JWKS', async () => {
    const res = await t.app.inject('/.well-known/openid-configuration');
    expect(res.statusCode).toBe(200);
    const api = `${t.config.server.publicUrl}/api/v1`;
    expect(res.json()).toMatchObject({
      issuer: t.config.auth.issuer,
      token_endpoint: `${api}/auth/token`,
      revocation_endpoint: `${api}/auth/revoke`,
      introspection_endpoint: `${api}/auth/introspect`,
      jwks_uri: `${t.config.server.publicUrl}/.well-known/jwks.json`,
      grant_types_supported: ['password', 'refresh_token', 'client_credentials'],
    });
    expect((await t.app.inject('/.well-known/oauth-authorization-server')).json()).toEqual(res.json());
  });

  it('refuses alg "none"', async () => {
    const token = `${b64({ alg: 'none', typ: 'at+jwt' })}.${b64(claims)}.`;
    expectProblem(await me(t, token), 401, 'invalid_token');
  });

  it('refuses a token signed with another key, even under the real kid', async () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt', kid: header.kid as string }).sign(privateKey);
    expectProblem(await me(t, token), 401, 'invalid_token');
  });

  it('refuses HS256 signed with the public key (algorithm confusion)', async () => {
    const { keys } = (await t.app.inject('/.well-known/jwks.json')).json() as { keys: JWK[] };
    const publicJwk = keys[0]!;
    for (const secret of [JSON.stringify(publicJwk), publicJwk.x!, Buffer.from(publicJwk.x!, 'base64url').toString('latin1')]) {
      const token = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt', kid: header.kid as string }).sign(new TextEncoder().encode(secret));
      expectProblem(await me(t, token), 401, 'invalid_token');
    }
  });

  it('refuses expired tokens, wrong issuer, wrong audience, another token type', async () => {
    const now = Math.floor(Date.now() / 1000);
    expectProblem(await me(t, await signedWithRealKey({ iat: now - 3600, exp: now - 60 })), 401, 'invalid_token');
    expectProblem(await me(t, await signedWithRealKey({ iss: 'https://evil.example' })), 401, 'invalid_token');
    expectProblem(await me(t, await signedWithRealKey({ aud: 'another-service' })), 401, 'invalid_token');
    const { key, kid } = await t.container.auth.keys.current();
    const idToken = await new SignJWT({ ...claims }).setProtectedHeader({ alg: 'EdDSA', typ: 'JWT', kid: kid! }).sign(key);
    expectProblem(await me(t, idToken), 401, 'invalid_token');
    // The same key and claims with nothing wrong is accepted: the refusals above are for the stated reason.
    expect((await me(t, await signedWithRealKey({}))).statusCode).toBe(200);
  });

  it('refuses a tampered payload (another user id, wider scope)', async () => {
    const [h, , s] = u.accessToken.split('.');
    for (const change of [{ sub: crypto.randomUUID() }, { scope: 'user admin' }, { exp: (claims.exp as number) + 86_400 }]) {
      expectProblem(await me(t, `${h}.${b64({ ...claims, ...change })}.${s}`), 401, 'invalid_token');
    }
  });

  it('garbage Authorization headers are 401 problems, never 500', async () => {
    const garbage = ['Bearer', 'Bearer ', 'Basic dXNlcjpwYXNz', 'Bearer a b', 'Bearer a.b.c', 'Bearer ....', `Bearer ${'A'.repeat(10_000)}`, 'Bearer é', 'bearer%00', `Bearer ${b64({})}.${b64({})}.x`];
    for (const value of garbage) {
      const res = await t.app.inject({ url: '/api/v1/auth/me', headers: { authorization: value } });
      expect(res.statusCode, value).toBe(401);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
  });

  it('a token verified before is still refused with anything around it (the cache matches the token exactly)', async () => {
    expect((await me(t, u.accessToken)).statusCode).toBe(200); // now cached
    for (const value of [`Bearer ${u.accessToken}x`, `Bearer ${u.accessToken} junk`, `Bearer ${u.accessToken.slice(0, -1)}`, `Bearer ${u.accessToken}.x`]) {
      const res = await t.app.inject({ url: '/api/v1/auth/me', headers: { authorization: value } });
      expect(res.statusCode, value).toBe(401);
    }
    // The header's other accepted forms still reach the same token.
    for (const value of [`bearer ${u.accessToken}`, `Bearer   ${u.accessToken}`, `Bearer ${u.accessToken}  `]) {
      const res = await t.app.inject({ url: '/api/v1/auth/me', headers: { authorization: value } });
      expect(res.statusCode, value).toBe(200);
    }
  });

  it('the key-value store failing means 503, never an accepted token (fail closed)', async () => {
    const kv = t.container.kv;
    const original = { getMany: kv.getMany.bind(kv), exchange: kv.exchange.bind(kv), ...(kv.exchangeNow ? { exchangeNow: kv.exchangeNow.bind(kv) } : {}) };
    const lost = async () => {
      throw new Error('connection lost');
    };
    kv.getMany = lost;
    kv.exchange = lost;
    // The embedded store's same-tick path fails the same way.
    if (kv.exchangeNow) {
      kv.exchangeNow = () => {
        throw new Error('connection lost');
      };
    }
    try {
      expectProblem(await me(t, u.accessToken), 503, 'kv_unavailable');
    } finally {
      Object.assign(kv, original);
    }
    expect((await me(t, u.accessToken)).statusCode).toBe(200);
  });

  it('keys rotate: new tokens use the new key; tokens of the old key stay valid; both are in the JWKS', async () => {
    const before = u.accessToken;
    const newKid = await t.container.auth.rotateKeys();
    expect(newKid).not.toBe(header.kid);
    const fresh = await signedInUser(t);
    const freshHeader = JSON.parse(Buffer.from(fresh.accessToken.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string };
    expect(freshHeader.kid).toBe(newKid);
    expect((await me(t, before)).statusCode).toBe(200);
    expect((await me(t, fresh.accessToken)).statusCode).toBe(200);
    const { keys } = (await t.app.inject('/.well-known/jwks.json')).json() as { keys: JWK[] };
    expect(keys.map((k) => k.kid).sort()).toEqual([header.kid, newKid].sort());
  });

  it('a service token is not accepted where a user is needed', async () => {
    const { client_id, client_secret } = await t.container.auth.clients.create({ name: 'svc', scopes: ['read'] }, null, { ip: null, userAgent: null });
    const client = (await t.container.auth.oauth.authenticateClient({ clientId: client_id, clientSecret: client_secret }, { ip: null, userAgent: null }))!;
    const service = await t.container.auth.oauth.clientCredentials(client, null);
    expectProblem(await t.app.inject({ url: '/api/v1/auth/me', headers: bearer(service.access_token) }), 403, 'forbidden');
  });
});

describe(`JWT_ALGORITHM=HS256 (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, JWT_ALGORITHM: 'HS256', JWT_SECRET_KEY: 'hs256-shared-secret-of-at-least-32-bytes!' } });
  });
  afterAll(() => t?.close());

  it('signs HS256 with the secret; the JWKS is empty; an EdDSA token is refused', async () => {
    const u = await signedInUser(t);
    const h = JSON.parse(Buffer.from(u.accessToken.split('.')[0]!, 'base64url').toString('utf8')) as Record<string, unknown>;
    expect(h).toEqual({ alg: 'HS256', typ: 'at+jwt' });
    expect((await me(t, u.accessToken)).statusCode).toBe(200);
    expect((await t.app.inject('/.well-known/jwks.json')).json()).toEqual({ keys: [] });
    const { privateKey } = generateKeyPairSync('ed25519');
    const eddsa = await new SignJWT(decodeJwt(u.accessToken)).setProtectedHeader({ alg: 'EdDSA', typ: 'at+jwt' }).sign(privateKey);
    expectProblem(await me(t, eddsa), 401, 'invalid_token');
    const otherSecret = await new SignJWT(decodeJwt(u.accessToken)).setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' }).sign(new TextEncoder().encode('another-secret-of-at-least-32-bytes-long'));
    expectProblem(await me(t, otherSecret), 401, 'invalid_token');
  });
});
