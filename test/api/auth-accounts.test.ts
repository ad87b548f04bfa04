import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_TEST_ENV,
  bearer,
  decodeJwt,
  expectProblem,
  login,
  me,
  registerUser,
  signIn,
  signedInUser,
  strongPassword,
  uniqueEmail,
} from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe(`accounts: register, login, me, logout, sessions (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
  });
  afterAll(() => t?.close());

  it('register answers 201 with the user; the e-mail is stored normalised', async () => {
    const local = `Mixed.${Date.now()}`;
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: `  ${local}@Example.COM `, password: strongPassword(), display_name: ' Ann\u0007 Example ' },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { user } = res.json() as { user: Record<string, unknown> };
    expect(user).toEqual({
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      email: `${local.toLowerCase()}@example.com`,
      email_verified: false,
      display_name: 'Ann Example',
      role: 'user',
      created_at: expect.any(String),
    });
    expect(res.body).not.toContain('password');
  });

  it('a duplicate e-mail is 409 email_taken, whatever its case, spacing or Unicode form', async () => {
    const base = `dup.${Date.now()}`;
    await registerUser(t, { email: `josé.${base}@example.com` });
    for (const variant of [`JOSÉ.${base}@EXAMPLE.com`, ` jose\u0301.${base}@example.com`]) {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: variant, password: strongPassword() } });
      expectProblem(res, 409, 'email_taken');
    }
  });

  it('register validates: bad e-mail, unknown fields, weak password (field-level 422)', async () => {
    expectProblem(await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: 'not-an-email', password: strongPassword() } }), 422, 'validation_failed');
    expectProblem(
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: uniqueEmail(), password: strongPassword(), role: 'admin' } }),
      422,
      'validation_failed',
    );
    const email = uniqueEmail();
    const weak = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: 'password' } });
    const body = expectProblem(weak, 422, 'password_policy');
    expect((body.errors as { field: string }[]).every((e) => e.field === 'password')).toBe(true);
    expect(body.reasons).toEqual(expect.arrayContaining(['too_short', 'needs_uppercase', 'needs_digit', 'needs_special', 'too_common']));
    const itself = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: `${email}A1!` } });
    expect(expectProblem(itself, 422, 'password_policy').reasons).toContain('is_email');
  });

  it('login answers the token pair, the user and password_expired; the JWT carries the promised claims', async () => {
    const user = await registerUser(t);
    const res = await login(t, { email: user.email.toUpperCase(), password: user.password });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.headers['cache-control']).toBe('no-store');
    const body = res.json() as Record<string, unknown>;
    expect(body).toMatchObject({ token_type: 'Bearer', expires_in: 900, password_expired: false, scope: 'user', user: { id: user.id, email: user.email } });
    expect(body.refresh_token).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const claims = decodeJwt(body.access_token as string);
    expect(Object.keys(claims).sort()).toEqual(['aud', 'exp', 'iat', 'iss', 'jti', 'scope', 'sid', 'sub']);
    expect(claims).toMatchObject({ sub: user.id, iss: t.config.auth.issuer, aud: 'tessera', scope: 'user' });
    expect((claims.exp as number) - (claims.iat as number)).toBe(900);
  });

  it('wrong password, unknown e-mail and malformed input give one identical 401 body', async () => {
    const user = await registerUser(t);
    const answers = await Promise.all([
      login(t, { email: user.email, password: 'Wrong-password-1!' }),
      login(t, { email: uniqueEmail('nobody'), password: user.password }),
      login(t, { email: 'x', password: user.password }),
    ]);
    const bodies = answers.map((r) => {
      const b = expectProblem(r, 401, 'invalid_credentials');
      return { ...b, request_id: undefined };
    });
    expect(bodies[1]).toEqual(bodies[0]);
    expect(bodies[2]).toEqual(bodies[0]);
  });

  it('register neutralises the display name as PATCH /users/me/profile does; every user view and search see plain text', async () => {
    const tag = `Reg${Date.now()}`;
    const password = strongPassword();
    const res = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/register',
      payload: { email: uniqueEmail(), password, display_name: `<script>alert(1)</script><b>${tag}</b>\u200b \u202eAnn` },
    });
    expect(res.statusCode, res.body).toBe(201);
    const { user } = res.json() as { user: { id: string; email: string; display_name: string } };
    expect(user.display_name).toBe(`${tag} Ann`);
    const u = await signIn(t, { id: user.id, email: user.email, password });
    expect((await me(t, u.accessToken)).json()).toMatchObject({ user: { display_name: `${tag} Ann` } });
    // The stored name is the neutral one: a search by its visible start finds it, by the tag it does not.
    const found = await t.app.inject({ url: `/api/v1/users?q=${tag}`, headers: bearer(u.accessToken) });
    expect((found.json() as { items: { id: string }[] }).items.map((i) => i.id)).toContain(user.id);
    const byTag = await t.app.inject({ url: `/api/v1/users?q=${encodeURIComponent('<script')}`, headers: bearer(u.accessToken) });
    expect((byTag.json() as { items: { id: string }[] }).items.map((i) => i.id)).not.toContain(user.id);

    // Too long after neutralising, or nothing visible left: 422 naming the field, and no account.
    for (const display_name of ['x'.repeat(101), '<b></b>\u0007']) {
      const email = uniqueEmail();
      const refused = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: strongPassword(), display_name } });
      const body = expectProblem(refused, 422, 'validation_failed');
      expect(body.errors).toEqual([expect.objectContaining({ field: 'display_name' })]);
      expect((await login(t, { email, password: strongPassword() })).statusCode).toBe(401);
      const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email, password: strongPassword() } });
      expect(again.statusCode, 'the refused registration left no account behind').toBe(201);
    }
    // Left blank, the account has no name yet (as before).
    const blank = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: uniqueEmail(), password: strongPassword(), display_name: '   ' } });
    expect((blank.json() as { user: { display_name: unknown } }).user.display_name).toBeNull();
  });

  it('a display name stored before registration neutralised it comes out as plain text in the user view', async () => {
    const u = await registerUser(t);
    await t.container.database.db.updateTable('users').set({ display_name: '<img src=x onerror=alert(1)>Old <b>Name</b>' }).where('id', '=', u.id).execute();
    const res = await login(t, u);
    expect(res.statusCode, res.body).toBe(200);
    expect((res.json() as { user: { display_name: string } }).user.display_name).toBe('Old Name');
  });

  it('GET /auth/me: the user for a valid token; 401 with WWW-Authenticate without one', async () => {
    const u = await signedInUser(t);
    const res = await me(t, u.accessToken);
    expect(res.statusCode).toBe(200);
    expect(res.json()).toMatchObject({ user: { id: u.id, email: u.email, email_verified: false, role: 'user' } });
    // Second call: served from the verified-token cache; same answer.
    expect((await me(t, u.accessToken)).json()).toEqual(res.json());
    const anonymous = await t.app.inject('/api/v1/auth/me');
    expectProblem(anonymous, 401, 'unauthorized');
    expect(anonymous.headers['www-authenticate']).toBe('Bearer realm="tessera"');
  });

  it('logout ends this session only: its access token is refused at once, others keep working', async () => {
    const user = await registerUser(t);
    const a = (await login(t, user)).json() as { access_token: string; refresh_token: string };
    const b = (await login(t, user)).json() as { access_token: string };
    expect((await me(t, a.access_token)).statusCode).toBe(200);
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(a.access_token) });
    expect(out.statusCode).toBe(204);
    const refused = await me(t, a.access_token);
    expectProblem(refused, 401, 'invalid_token');
    expect(refused.headers['www-authenticate']).toContain('error="invalid_token"');
    expect((await me(t, b.access_token)).statusCode).toBe(200);
    const refresh = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: a.refresh_token } });
    expectProblem(refresh, 401, 'invalid_refresh_token');
  });

  it('a revoked session is announced on the realtime channel (session.revoked)', async () => {
    const u = await signedInUser(t);
    const seen: { type: string; userId: string; sessionId?: string }[] = [];
    const stop = await t.container.events.subscribe((e) => seen.push(e));
    try {
      await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(u.accessToken) });
      for (let i = 0; i < 40 && !seen.some((e) => e.sessionId === u.sessionId); i++) await new Promise((r) => setTimeout(r, 25));
      expect(seen).toContainEqual(expect.objectContaining({ type: 'session.revoked', userId: u.id, sessionId: u.sessionId }));
    } finally {
      await stop();
    }
  });

  it('logout by refresh token (no access token needed)', async () => {
    const user = await registerUser(t);
    const a = (await login(t, user)).json() as { access_token: string; refresh_token: string };
    const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refresh_token: a.refresh_token } });
    expect(out.statusCode).toBe(204);
    expectProblem(await me(t, a.access_token), 401, 'invalid_token');
  });

  it('logout-all ends every session of the user', async () => {
    const user = await registerUser(t);
    const tokens = await Promise.all([login(t, user), login(t, user), login(t, user)]);
    const access = tokens.map((r) => (r.json() as { access_token: string }).access_token);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(access[0]!) })).statusCode).toBe(204);
    for (const token of access) expectProblem(await me(t, token), 401, 'invalid_token');
  });

  it('sessions: listed with the current one marked; one can be revoked; another user\'s is 404', async () => {
    const user = await registerUser(t);
    const first = (await login(t, user, { 'user-agent': 'Firefox/128' })).json() as { access_token: string };
    const second = (await login(t, user, { 'user-agent': 'Safari/17' })).json() as { access_token: string };
    const list = await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(second.access_token) });
    expect(list.statusCode).toBe(200);
    const { items, next_cursor } = list.json() as { items: { id: string; current: boolean; user_agent: string; ip: string }[]; next_cursor: null };
    expect(next_cursor).toBeNull();
    expect(items).toHaveLength(2);
    expect(items.find((s) => s.current)?.user_agent).toBe('Safari/17');
    expect(items[0]).toEqual({ id: expect.any(String), created_at: expect.any(String), last_used_at: expect.any(String), ip: '127.0.0.1', user_agent: expect.any(String), current: expect.any(Boolean) });
    const firstId = items.find((s) => !s.current)!.id;

    const stranger = await signedInUser(t);
    expectProblem(await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${firstId}`, headers: bearer(stranger.accessToken) }), 404, 'session_not_found');
    expectProblem(await t.app.inject({ method: 'DELETE', url: '/api/v1/auth/sessions/not-a-uuid', headers: bearer(second.access_token) }), 404, 'session_not_found');

    const del = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${firstId}`, headers: bearer(second.access_token) });
    expect(del.statusCode).toBe(204);
    expectProblem(await me(t, first.access_token), 401, 'invalid_token');
    const after = (await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(second.access_token) })).json() as { items: unknown[] };
    expect(after.items).toHaveLength(1);
  });

  it('audit_events records sign-ins and failures without passwords or tokens', async () => {
    const user = await registerUser(t);
    await login(t, { email: user.email, password: 'Nope-wrong-pass1!' });
    const ok = await login(t, user);
    const events = await t.container.auth.auditEvents.list({ userId: user.id });
    expect(events.map((e) => e.event)).toEqual(expect.arrayContaining(['user.registered', 'login.failed', 'login.succeeded']));
    const sid = (JSON.parse(Buffer.from((ok.json() as { access_token: string }).access_token.split('.')[1]!, 'base64url').toString('utf8')) as { sid: string }).sid;
    expect(events.find((e) => e.event === 'login.succeeded')?.details).toEqual({ session_id: sid });
    const dump = JSON.stringify(events) + JSON.stringify(t.logs());
    expect(dump).not.toContain(user.password);
    expect(dump).not.toContain((ok.json() as { refresh_token: string }).refresh_token);
    expect(dump).not.toContain((ok.json() as { access_token: string }).access_token);
    expect(t.logs().some((l) => l.security_event === 'login.failed')).toBe(true);
  });
});

describe(`REGISTRATION_ENUMERATION_SAFE=true (${BACKEND})`, () => {
  it('a duplicate registration is a 201 that reveals nothing', async () => {
    const t = await createTestApp({ env: { ...AUTH_TEST_ENV, REGISTRATION_ENUMERATION_SAFE: 'true' } });
    try {
      const user = await registerUser(t);
      const again = await t.app.inject({ method: 'POST', url: '/api/v1/auth/register', payload: { email: user.email, password: strongPassword() } });
      expect(again.statusCode).toBe(201);
      const body = again.json() as { user: { id: string; email: string } };
      expect(body.user.email).toBe(user.email);
      expect(body.user.id).not.toBe(user.id);
      // The original password still works; the duplicate's does not.
      expect((await login(t, user)).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});
