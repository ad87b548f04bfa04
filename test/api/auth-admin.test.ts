import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, expectProblem, form, FORM_HEADERS, login, makeAdmin, me, registerUser, signedInUser, type SignedIn } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe(`admin (${BACKEND})`, () => {
  let t: TestApp;
  let admin: SignedIn;
  const as = (who: SignedIn, method: 'GET' | 'POST' | 'DELETE', url: string, payload?: object) =>
    t.app.inject({ method, url: `/api/v1${url}`, headers: bearer(who.accessToken), ...(payload ? { payload } : {}) });

  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV });
    admin = await signedInUser(t, { email: `root.${Date.now()}@example.com` });
    await makeAdmin(t, admin.id);
  });
  afterAll(() => t?.close());

  it('other users get 403, anonymous callers 401, on every admin route', async () => {
    const user = await signedInUser(t);
    const routes: ['GET' | 'POST' | 'DELETE', string][] = [
      ['GET', '/admin/users'],
      ['POST', `/admin/users/${user.id}/lock`],
      ['POST', `/admin/users/${user.id}/unlock`],
      ['DELETE', `/admin/users/${user.id}/sessions`],
      ['GET', '/admin/clients'],
      ['POST', '/admin/clients'],
      ['DELETE', '/admin/clients/tsc_x'],
    ];
    for (const [method, url] of routes) {
      expectProblem(await as(user, method, url, method === 'POST' ? {} : undefined), 403, 'admin_required');
      expectProblem(await t.app.inject({ method, url: `/api/v1${url}` }), 401, 'unauthorized');
    }
  });

  it('users: search by e-mail or display-name prefix, paginated with opaque tamper-evident cursors', async () => {
    const tag = `zed${Date.now()}`;
    for (let i = 0; i < 5; i++) await registerUser(t, { email: `${tag}.${i}@example.com` });
    await registerUser(t, { displayName: `${tag.toUpperCase()} Named` });
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res = await as(admin, 'GET', `/admin/users?q=${tag}&limit=4${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { items: { email: string; locked: boolean }[]; next_cursor: string | null };
      seen.push(...page.items.map((u) => u.email));
      expect(page.items[0]).toHaveProperty('locked', false);
      cursor = page.next_cursor;
    } while (cursor);
    expect(seen).toHaveLength(6);
    expect(new Set(seen).size).toBe(6);
    const first = (await as(admin, 'GET', `/admin/users?q=${tag}&limit=2`)).json() as { next_cursor: string };
    const tampered = `${first.next_cursor.slice(0, -2)}xx`;
    expectProblem(await as(admin, 'GET', `/admin/users?cursor=${encodeURIComponent(tampered)}`), 422, 'validation_failed');
    expectProblem(await as(admin, 'GET', '/admin/users?cursor=garbage'), 422, 'validation_failed');
    expectProblem(await as(admin, 'GET', '/admin/users?limit=1000'), 422, 'validation_failed');
  });

  it('lock signs the user out everywhere and refuses sign-in (same 401); unlock restores it', async () => {
    const user = await signedInUser(t);
    const locked = await as(admin, 'POST', `/admin/users/${user.id}/lock`);
    expect(locked.statusCode, locked.body).toBe(200);
    expect(locked.json()).toMatchObject({ user: { id: user.id, locked: true } });
    expectProblem(await me(t, user.accessToken), 401, 'invalid_token');
    expectProblem(await login(t, user), 401, 'invalid_credentials');
    const unlocked = await as(admin, 'POST', `/admin/users/${user.id}/unlock`);
    expect(unlocked.json()).toMatchObject({ user: { locked: false, locked_until: null } });
    expect((await login(t, user)).statusCode).toBe(200);
    expectProblem(await as(admin, 'POST', '/admin/users/00000000-0000-0000-0000-000000000000/lock'), 404, 'user_not_found');
    expectProblem(await as(admin, 'POST', '/admin/users/not-a-uuid/lock'), 404, 'user_not_found');
  });

  it('lock takes {minutes} (a whole number, bounded) or nothing; anything else is 422, never a 500 or a silent indefinite lock', async () => {
    const user = await registerUser(t);
    const url = `/admin/users/${user.id}/lock`;
    for (const payload of [{ minutes: '5' }, { minutes: -1 }, { minutes: 1.5 }, { minutes: 1e308 }, { minutes: 99_999_999_999 }, { minutes: { a: 1 } }, { extra: 1 }, []]) {
      expectProblem(await as(admin, 'POST', url, payload), 422, 'validation_failed');
    }
    expect((await as(admin, 'GET', `/admin/users?q=${encodeURIComponent(user.email)}`)).json()).toMatchObject({ items: [{ locked: false }] });
    const timed = await as(admin, 'POST', url, { minutes: 5 });
    expect(timed.statusCode, timed.body).toBe(200);
    const until = Date.parse((timed.json() as { user: { locked_until: string } }).user.locked_until);
    expect(Math.abs(until - (Date.now() + 5 * 60_000))).toBeLessThan(60_000);
    const indefinite = await as(admin, 'POST', url, {});
    expect(indefinite.json()).toMatchObject({ user: { locked: true, locked_until: '9999-12-31T00:00:00.000Z' } });
  });

  it('a text/plain body is 415 on the admin and auth JSON routes, not a string to validate', async () => {
    const plain = (url: string, headers: Record<string, string> = {}) =>
      t.app.inject({ method: 'POST', url: `/api/v1${url}`, headers: { ...headers, 'content-type': 'text/plain' }, payload: '{"name":"x","scopes":[]}' });
    expectProblem(await plain('/admin/clients', bearer(admin.accessToken)), 415, 'unsupported_media_type');
    for (const url of ['/auth/login', '/auth/register', '/auth/refresh', '/auth/password/forgot']) {
      expectProblem(await plain(url), 415, 'unsupported_media_type');
    }
  });

  it('DELETE /admin/users/:id/sessions ends every session of the user', async () => {
    const user = await signedInUser(t);
    expect((await as(admin, 'DELETE', `/admin/users/${user.id}/sessions`)).statusCode).toBe(204);
    expectProblem(await me(t, user.accessToken), 401, 'invalid_token');
  });

  it('clients: created with the secret shown once (stored hashed), listed without it, deleted', async () => {
    const created = await as(admin, 'POST', '/admin/clients', { name: 'Billing', scopes: ['billing:read'] });
    expect(created.statusCode, created.body).toBe(201);
    const body = created.json() as { client_id: string; client_secret: string; name: string; scopes: string[] };
    expect(body).toMatchObject({ client_id: expect.stringMatching(/^tsc_/), client_secret: expect.any(String), name: 'Billing', scopes: ['billing:read'] });
    const row = await t.container.database.db.selectFrom('oauth_clients').selectAll().where('client_id', '=', body.client_id).executeTakeFirstOrThrow();
    expect(row.secret_hash).not.toContain(body.client_secret);
    const list = await as(admin, 'GET', '/admin/clients');
    expect(list.body).not.toContain(body.client_secret);
    expect((list.json() as { items: { client_id: string }[] }).items.map((c) => c.client_id)).toContain(body.client_id);
    const grant = await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/token',
      headers: FORM_HEADERS,
      payload: form({ grant_type: 'client_credentials', client_id: body.client_id, client_secret: body.client_secret }),
    });
    expect(grant.statusCode).toBe(200);
    expect((await as(admin, 'DELETE', `/admin/clients/${body.client_id}`)).statusCode).toBe(204);
    expectProblem(await as(admin, 'DELETE', `/admin/clients/${body.client_id}`), 404, 'client_not_found');
    expectProblem(await as(admin, 'POST', '/admin/clients', { name: 'Bad', scopes: ['has space'] }), 422, 'validation_failed');
    expectProblem(await as(admin, 'POST', '/admin/clients', { name: 'Bad' }), 422, 'validation_failed');
    // A NUL once reached the insert and answered 500.
    for (const name of ['Bad\u0000name', 'Bad\u001b[31m']) {
      const bad = expectProblem(await as(admin, 'POST', '/admin/clients', { name, scopes: ['billing:read'] }), 422, 'validation_failed');
      expect(bad.errors).toEqual([{ field: 'name', message: 'must not contain control characters' }]);
    }
  });

  it('every admin action is audit-logged with the admin as actor', async () => {
    const events = await t.container.auth.auditEvents.list({ limit: 500 });
    const adminEvents = events.filter((e) => e.event.startsWith('admin.'));
    expect(new Set(adminEvents.map((e) => e.event))).toEqual(
      new Set(['admin.user_locked', 'admin.user_unlocked', 'admin.sessions_revoked', 'admin.client_created', 'admin.client_deleted']),
    );
    for (const e of adminEvents) expect(e.actor_user_id).toBe(admin.id);
    expect(JSON.stringify(events)).not.toMatch(/client_secret|password_hash/);
  });

  it('the admin role is checked now, not when the token was issued', async () => {
    const other = await signedInUser(t);
    await makeAdmin(t, other.id);
    expect((await as(other, 'GET', '/admin/clients')).statusCode).toBe(200);
    await t.container.database.db.updateTable('users').set({ role: 'user' }).where('id', '=', other.id).execute();
    expectProblem(await as(other, 'GET', '/admin/clients'), 403, 'admin_required');
  });
});
