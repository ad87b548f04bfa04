import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { prepared } from '../../src/db/prepared.js';
import { AUTH_TEST_ENV, bearer, expectProblem, login, me, registerUser, signedInUser } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

type Pair = { access_token: string; refresh_token: string };

function refresh(t: TestApp, token: string) {
  return t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: token } });
}

describe(`refresh tokens: rotation, grace window, reuse detection (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, REFRESH_REUSE_INTERVAL_SECONDS: '1' } });
  });
  afterAll(() => t?.close());

  it('a statement marked prepared() becomes a named statement of the session, with parameters and typed rows', async () => {
    await t.container.database.db.connection().execute(async (c) => {
      const at = new Date('2030-01-02T03:04:05.678Z');
      const probe = (n: number | null) =>
        sql<{ n: number | null; at: Date; label: string }>`select ${n}::int as n, ${at}::timestamptz as at, ${'x'}::text as label${prepared('probe')}`.execute(c);
      expect((await probe(1)).rows).toEqual([{ n: 1, at, label: 'x' }]);
      expect((await probe(null)).rows).toEqual([{ n: null, at, label: 'x' }]);
      const { rows } = await sql<{ name: string }>`select name from pg_prepared_statements`.execute(c);
      expect(rows.map((r) => r.name)).toContainEqual(expect.stringMatching(/^probe_[0-9a-f]{12}$/));
      // An error in a named statement leaves the session usable.
      await expect(sql`select 1 / ${0}::int as x${prepared('probe_error')}`.execute(c)).rejects.toThrow(/division by zero/);
      expect((await probe(2)).rows).toEqual([{ n: 2, at, label: 'x' }]);
    });
  });

  it('every refresh rotates: a new pair, same session, and the old access token keeps working until expiry', async () => {
    const u = await signedInUser(t);
    const res = await refresh(t, u.refreshToken);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const pair = res.json() as Pair & { token_type: string; expires_in: number };
    expect(pair).toMatchObject({ token_type: 'Bearer', expires_in: 900 });
    expect(pair.refresh_token).not.toBe(u.refreshToken);
    expect((await me(t, pair.access_token)).statusCode).toBe(200);
    const sessions = (await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(pair.access_token) })).json() as { items: { id: string; current: boolean }[] };
    expect(sessions.items).toEqual([expect.objectContaining({ id: u.sessionId, current: true })]);
  });

  it('two tabs refreshing with the same token at once both get a working pair (grace window)', async () => {
    const u = await signedInUser(t);
    const [a, b] = await Promise.all([refresh(t, u.refreshToken), refresh(t, u.refreshToken)]);
    expect(a.statusCode, a.body).toBe(200);
    expect(b.statusCode, b.body).toBe(200);
    const pa = a.json() as Pair;
    const pb = b.json() as Pair;
    expect(pa.refresh_token).not.toBe(pb.refresh_token);
    // Both successors keep rotating independently; the session is not signed out.
    expect((await refresh(t, pa.refresh_token)).statusCode).toBe(200);
    expect((await refresh(t, pb.refresh_token)).statusCode).toBe(200);
  });

  it('a rotated token presented after the grace window revokes the whole family, logged as a security event', async () => {
    const u = await signedInUser(t);
    const next = (await refresh(t, u.refreshToken)).json() as Pair;
    await new Promise((r) => setTimeout(r, 1_300));
    const reuse = await refresh(t, u.refreshToken);
    expectProblem(reuse, 401, 'token_reused');
    // Every token of the family is dead: the successor refresh token and the access tokens.
    expectProblem(await refresh(t, next.refresh_token), 401, 'invalid_refresh_token');
    expectProblem(await me(t, next.access_token), 401, 'invalid_token');
    expectProblem(await me(t, u.accessToken), 401, 'invalid_token');
    const events = await t.container.auth.auditEvents.list({ userId: u.id, event: 'refresh_token.reused' });
    expect(events).toHaveLength(1);
    expect(t.logs().some((l) => l.security_event === 'refresh_token.reused' && l.level === 40)).toBe(true);
    // Another session of the same user is not affected.
    const other = await login(t, u);
    expect(other.statusCode).toBe(200);
  });

  it('unknown, malformed and huge refresh tokens are 401/422 problems', async () => {
    expectProblem(await refresh(t, 'A'.repeat(43)), 401, 'invalid_refresh_token');
    expectProblem(await refresh(t, 'not a token'), 401, 'invalid_refresh_token');
    expectProblem(await refresh(t, 'x'.repeat(100_000)), 422, 'validation_failed');
    expectProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: {} }), 422, 'validation_failed');
    expectProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: 5 } }), 422, 'validation_failed');
  });

  it('an expired refresh token is refused', async () => {
    const u = await signedInUser(t);
    await t.container.database.db.updateTable('refresh_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('session_id', '=', u.sessionId).execute();
    expectProblem(await refresh(t, u.refreshToken), 401, 'invalid_refresh_token');
  });
});

describe(`browser clients: the refresh token in an HttpOnly cookie (${BACKEND})`, () => {
  let t: TestApp;
  const web = { 'x-tessera-client': 'web' };
  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
  });
  afterAll(() => t?.close());

  function cookieOf(res: { headers: Record<string, unknown> }): string {
    const raw = res.headers['set-cookie'];
    const line = (Array.isArray(raw) ? raw : [raw]).find((c) => String(c).startsWith('tessera_refresh=')) as string;
    expect(line).toBeDefined();
    return line;
  }

  it('login with X-Tessera-Client: web sets the cookie and leaves the token out of the body', async () => {
    const user = await registerUser(t);
    const res = await login(t, user, web);
    expect(res.statusCode).toBe(200);
    expect(res.json()).not.toHaveProperty('refresh_token');
    const cookie = cookieOf(res);
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/SameSite=Strict/);
    expect(cookie).toMatch(/Path=\/api\/v1\/auth(;|$)/);
    expect(cookie).not.toMatch(/Secure/); // PUBLIC_URL is plain http://localhost here
    expect(cookie).toMatch(/Max-Age=2592000/);
  });

  it('refresh and logout read the cookie; the cookie alone without the header is refused (CSRF)', async () => {
    const user = await registerUser(t);
    const first = cookieOf(await login(t, user, web)).split(';')[0]!;
    const forged = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { cookie: first } });
    expectProblem(forged, 403, 'csrf_header_required');
    const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', headers: { ...web, cookie: first } });
    expect(refreshed.statusCode, refreshed.body).toBe(200);
    expect(refreshed.json()).not.toHaveProperty('refresh_token');
    const second = cookieOf(refreshed).split(';')[0]!;
    expect(second).not.toBe(first);
    const access = (refreshed.json() as { access_token: string }).access_token;
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: { ...web, cookie: second } });
    expect(out.statusCode).toBe(204);
    expect(cookieOf(out)).toMatch(/Max-Age=0|Expires=Thu, 01 Jan 1970/);
    expectProblem(await me(t, access), 401, 'invalid_token');
  });

  it('other clients keep the JSON body contract', async () => {
    const user = await registerUser(t);
    const res = await login(t, user);
    expect(res.json()).toHaveProperty('refresh_token');
    expect(res.headers['set-cookie']).toBeUndefined();
  });
});

describe(`REFRESH_REUSE_INTERVAL_SECONDS=0 (${BACKEND})`, () => {
  it('any second use of a rotated token is reuse', async () => {
    const t = await createTestApp({ env: { ...AUTH_TEST_ENV, REFRESH_REUSE_INTERVAL_SECONDS: '0' } });
    try {
      const u = await signedInUser(t);
      expect((await refresh(t, u.refreshToken)).statusCode).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
      expectProblem(await refresh(t, u.refreshToken), 401, 'token_reused');
    } finally {
      await t.close();
    }
  });
});
