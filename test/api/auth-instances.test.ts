import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, expectProblem, form, FORM_HEADERS, login, mailsTo, me, registerUser, signedInUser, signIn } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

// Two instances on the same database and key-value store: PostgreSQL + Redis on the postgres
// project, the shared embedded handles otherwise.
describe(`two instances: revocation, lockout and rate limits agree (${BACKEND})`, () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ env: { ...AUTH_TEST_ENV } });
    b = await createTestApp({ sameStoresAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a token from one instance works on the other (shared signing key)', async () => {
    const u = await signedInUser(a);
    expect((await me(b, u.accessToken)).statusCode).toBe(200);
  });

  it('logout on A: the access token is refused on B at its next request, though B had it cached', async () => {
    const u = await signedInUser(a);
    expect((await me(b, u.accessToken)).statusCode).toBe(200);
    expect((await a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(u.accessToken) })).statusCode).toBe(204);
    expectProblem(await me(b, u.accessToken), 401, 'invalid_token');
    expectProblem(await me(a, u.accessToken), 401, 'invalid_token');
  });

  it.runIf(BACKEND === 'postgres')('on Redis, repeat requests are answered from exact local copies, without a round trip (counted in /metrics)', async () => {
    const u = await signedInUser(a);
    const before = await b.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' });
    const localOf = (text: string) => Number(/tessera_kv_exchanges_total\{answered="local"\} (\d+)/.exec(text)?.[1] ?? 0);
    for (let i = 0; i < 6; i++) expect((await me(b, u.accessToken)).statusCode).toBe(200);
    const after = (await b.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    expect(localOf(after) - localOf(before.body)).toBeGreaterThanOrEqual(3);
    expect(after).toMatch(/tessera_kv_near_cache\{state="current"\} 1/);
    // …and a logout on A is still refused on B at the next request (the wait is in the logout).
    expect((await a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(u.accessToken) })).statusCode).toBe(204);
    expectProblem(await me(b, u.accessToken), 401, 'invalid_token');
  });

  it('password change on B ends the other sessions on A at once', async () => {
    const u = await signedInUser(a);
    const second = await signIn(b, u);
    expect((await me(a, u.accessToken)).statusCode).toBe(200);
    const res = await b.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password/change',
      headers: bearer(second.accessToken),
      payload: { current_password: u.password, new_password: `${u.password}x` },
    });
    expect(res.statusCode, res.body).toBe(204);
    expectProblem(await me(a, u.accessToken), 401, 'invalid_token');
    expect((await me(a, second.accessToken)).statusCode).toBe(200);
  });

  it('refresh-token reuse detected on B revokes the family A issued', async () => {
    const u = await signedInUser(a);
    const rotated = await a.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: u.refreshToken } });
    const next = rotated.json() as { access_token: string };
    await a.container.database.db.updateTable('refresh_tokens').set({ rotated_at: new Date(Date.now() - 60_000) }).where('session_id', '=', u.sessionId).where('rotated_at', 'is not', null).execute();
    expectProblem(await b.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: u.refreshToken } }), 401, 'token_reused');
    expectProblem(await me(a, next.access_token), 401, 'invalid_token');
  });

  it('keys rotate on A: B signs with the new key at once and still accepts tokens of the old one', async () => {
    const before = await signedInUser(b);
    const kid = await a.container.auth.rotateKeys();
    const kidOf = (token: string) => (JSON.parse(Buffer.from(token.split('.')[0]!, 'base64url').toString('utf8')) as { kid: string }).kid;
    let after = await signedInUser(b);
    for (let i = 0; i < 40 && kidOf(after.accessToken) !== kid; i++) {
      await new Promise((r) => setTimeout(r, 25));
      after = await signedInUser(b);
    }
    expect(kidOf(after.accessToken)).toBe(kid);
    expect((await me(a, after.accessToken)).statusCode).toBe(200);
    expect((await me(a, before.accessToken)).statusCode).toBe(200);
    expect((await me(b, before.accessToken)).statusCode).toBe(200);
  });

  it('lockout is shared: failures on both instances add up', async () => {
    const user = await registerUser(a);
    const wrong = { email: user.email, password: 'Wrong-password-1!' };
    for (let i = 0; i < 5; i++) expectProblem(await login(i % 2 ? a : b, wrong), 401, 'invalid_credentials');
    // Locked: the right password gets the very same answer, on either instance.
    const locked = await login(a, user);
    const lockedBody = expectProblem(locked, 401, 'invalid_credentials');
    expect({ ...lockedBody, request_id: null }).toEqual({ ...(JSON.parse((await login(b, wrong)).body) as object), request_id: null });
    expectProblem(await login(b, user), 401, 'invalid_credentials');
  });
});

describe(`rate limits shared across instances (${BACKEND})`, () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ env: { RATE_LIMIT_LOGIN: '3/minute', RATE_LIMIT_REGISTER: '100/minute' } });
    b = await createTestApp({ sameStoresAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('RATE_LIMIT_LOGIN counts per client address on both instances; the OAuth password grant shares it', async () => {
    const user = await registerUser(a);
    const ip = { remoteAddress: '198.51.100.40' };
    const attempt = (t: TestApp) => t.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password }, ...ip });
    expect((await attempt(a)).statusCode).toBe(200);
    expect((await attempt(b)).statusCode).toBe(200);
    const third = await attempt(a);
    expect(third.statusCode).toBe(200);
    expect(third.headers['ratelimit-remaining']).toBe('0');
    const limited = await attempt(b);
    const body = expectProblem(limited, 429, 'rate_limited');
    expect(body.limit).toBe('login');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
    const grant = await b.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: FORM_HEADERS,
      payload: form({ grant_type: 'password', username: user.email, password: user.password }),
      ...ip,
    });
    expect(grant.statusCode).toBe(429);
    expect(grant.json()).toMatchObject({ error: 'slow_down' });
    // Another address is unaffected.
    expect((await a.app.inject({ method: 'POST', url: '/api/v1/auth/login', payload: { email: user.email, password: user.password }, remoteAddress: '198.51.100.41' })).statusCode).toBe(200);
  });
});

describe(`lockout (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV } });
  });
  afterAll(() => t?.close());

  it('MAX_LOGIN_ATTEMPTS failures lock for LOCKOUT_DURATION_MINUTES, e-mail the owner, count in metrics and the audit log', async () => {
    const user = await registerUser(t);
    for (let i = 0; i < 5; i++) await login(t, { email: user.email, password: `Wrong-password-${i}!` });
    expectProblem(await login(t, user), 401, 'invalid_credentials');
    const notice = await mailsTo(t, user.email, /lock/i);
    expect(notice).toHaveLength(1);
    expect(notice[0]!.text).toMatch(/30 minutes/);
    const metrics = (await t.app.inject({ url: '/metrics', remoteAddress: '127.0.0.1' })).body;
    expect(metrics).toMatch(/^tessera_lockouts_total 1$/m);
    expect(metrics).toMatch(/tessera_login_attempts_total\{outcome="failure"\} [6-9]/);
    expect(await t.container.auth.auditEvents.list({ userId: user.id, event: 'account.locked' })).toHaveLength(1);
    // When the lock runs out, the right password works again and the count starts over.
    await t.container.database.db.updateTable('users').set({ locked_until: new Date(Date.now() - 1000) }).where('id', '=', user.id).execute();
    expectProblem(await login(t, { email: user.email, password: 'Wrong-password-again!' }), 401, 'invalid_credentials');
    expect((await login(t, user)).statusCode).toBe(200);
    const row = await t.container.database.db.selectFrom('users').select(['failed_login_count', 'locked_until', 'last_login_at']).where('id', '=', user.id).executeTakeFirstOrThrow();
    expect(row).toMatchObject({ failed_login_count: 0, locked_until: null, last_login_at: expect.any(Date) });
  });

  it('unknown e-mail, wrong password and locked account take about the same time: each verifies one argon2id hash', async () => {
    const locked = await registerUser(t);
    await t.container.database.db.updateTable('users').set({ locked_until: new Date(Date.now() + 3_600_000) }).where('id', '=', locked.id).execute();
    const victim = await registerUser(t);
    const kinds = {
      unknown: () => login(t, { email: `ghost.${Date.now()}@example.com`, password: 'Some-password-1!' }),
      locked: () => login(t, locked),
      wrong: () => login(t, { email: victim.email, password: 'Wrong-password-1!' }),
    };
    // Wall time on a shared 2-core machine is noisy, so the cost that matters is also counted:
    // every path must spend exactly one argon2id verification (the dummy one for unknown e-mails).
    const hasher = t.container.auth.hasher;
    let verifications = 0;
    const verify = hasher.verify.bind(hasher);
    hasher.verify = async (hash, password) => {
      verifications++;
      return verify(hash, password);
    };
    const times: Record<keyof typeof kinds, number[]> = { unknown: [], locked: [], wrong: [] };
    const order = Object.keys(kinds) as (keyof typeof kinds)[];
    try {
      for (let round = 0; round < 4; round++) {
        order.push(order.shift()!); // each kind takes its turn first
        for (const kind of order) {
          const before = verifications;
          const s = performance.now();
          expectProblem(await kinds[kind](), 401, 'invalid_credentials');
          times[kind].push(performance.now() - s);
          expect(verifications - before, kind).toBe(1);
        }
      }
    } finally {
      hasher.verify = verify;
    }
    // The fastest run of each kind is the least disturbed by other load.
    const fastest = Object.values(times).map((xs) => Math.min(...xs));
    expect(Math.max(...fastest) / Math.min(...fastest)).toBeLessThan(3);
  });
});
