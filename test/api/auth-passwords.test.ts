import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  AUTH_TEST_ENV,
  bearer,
  expectProblem,
  linkToken,
  login,
  mailsTo,
  me,
  registerUser,
  signedInUser,
  signIn,
  strongPassword,
  uniqueEmail,
} from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe(`passwords and e-mail links (${BACKEND})`, () => {
  let t: TestApp;
  const post = (url: string, payload: unknown, headers: Record<string, string> = {}) => t.app.inject({ method: 'POST', url: `/api/v1${url}`, payload: payload as object, headers });

  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, PUBLIC_URL: 'https://tessera.example' } });
  });
  afterAll(() => t?.close());

  it('registration e-mails a verification link built from PUBLIC_URL; the link verifies once', async () => {
    const user = await registerUser(t);
    const mails = await mailsTo(t, user.email);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.text).toContain('https://tessera.example/verify-email?token=');
    expect(mails[0]!.html).toContain('https://tessera.example/verify-email?token=');
    const token = await linkToken(t, user.email, 'verify-email');
    const res = await post('/auth/email/verify', { token });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({ user: { id: user.id, email_verified: true } });
    expectProblem(await post('/auth/email/verify', { token }), 400, 'email_link_invalid');
    const session = await signIn(t, user);
    expect((await me(t, session.accessToken)).json()).toMatchObject({ user: { email_verified: true } });
  });

  it('verify: garbage and expired tokens are 400 email_link_invalid', async () => {
    expectProblem(await post('/auth/email/verify', { token: 'nope' }), 400, 'email_link_invalid');
    expectProblem(await post('/auth/email/verify', { token: 'A'.repeat(43) }), 400, 'email_link_invalid');
    const user = await registerUser(t);
    const token = await linkToken(t, user.email, 'verify-email');
    await t.container.database.db.updateTable('email_tokens').set({ expires_at: new Date(Date.now() - 1000) }).where('user_id', '=', user.id).execute();
    expectProblem(await post('/auth/email/verify', { token }), 400, 'email_link_invalid');
  });

  it('resend: a new link for the signed-in user (the old one stops working), 409 once verified, throttled', async () => {
    const u = await signedInUser(t);
    const old = await linkToken(t, u.email, 'verify-email');
    await t.container.kv.del(`mail-throttle:verify:${u.id}`);
    const res = await post('/auth/email/resend', undefined, bearer(u.accessToken));
    expect(res.statusCode, res.body).toBe(202);
    expectProblem(await post('/auth/email/resend', undefined, bearer(u.accessToken)), 429, 'rate_limited');
    const fresh = await linkToken(t, u.email, 'verify-email');
    expect(fresh).not.toBe(old);
    expectProblem(await post('/auth/email/verify', { token: old }), 400, 'email_link_invalid');
    expect((await post('/auth/email/verify', { token: fresh })).statusCode).toBe(200);
    await t.container.kv.del(`mail-throttle:verify:${u.id}`);
    expectProblem(await post('/auth/email/resend', undefined, bearer(u.accessToken)), 409, 'email_already_verified');
  });

  it('forgot: always 202, e-mail only for a real account', async () => {
    const user = await registerUser(t);
    const nobody = uniqueEmail('nobody');
    const a = await post('/auth/password/forgot', { email: user.email.toUpperCase() });
    const b = await post('/auth/password/forgot', { email: nobody });
    expect(a.statusCode).toBe(202);
    expect(b.statusCode).toBe(202);
    expect(a.json()).toEqual(b.json());
    expect(await mailsTo(t, nobody)).toHaveLength(0);
    const resets = await mailsTo(t, user.email, /password/i);
    expect(resets.length).toBe(1);
    expect(resets[0]!.text).toContain('https://tessera.example/reset-password?token=');
  });

  it('reset: sets the password, ends every session, e-mails a notice; the link is single-use', async () => {
    const u = await signedInUser(t);
    await post('/auth/password/forgot', { email: u.email });
    const token = await linkToken(t, u.email, 'reset-password');
    const weak = await post('/auth/password/reset', { token, new_password: 'short' });
    expectProblem(weak, 422, 'password_policy');
    const newPassword = strongPassword();
    const res = await post('/auth/password/reset', { token, new_password: newPassword });
    expect(res.statusCode, res.body).toBe(204);
    expectProblem(await me(t, u.accessToken), 401, 'invalid_token');
    expectProblem(await login(t, u), 401, 'invalid_credentials');
    expect((await login(t, { email: u.email, password: newPassword })).statusCode).toBe(200);
    expectProblem(await post('/auth/password/reset', { token, new_password: strongPassword() }), 400, 'email_link_invalid');
    const notices = await mailsTo(t, u.email, /changed/i);
    expect(notices.length).toBeGreaterThanOrEqual(1);
    expect(notices.at(-1)!.text).not.toContain(newPassword);
  });

  it('reset: expired and unknown links are 400', async () => {
    const user = await registerUser(t);
    await post('/auth/password/forgot', { email: user.email });
    const token = await linkToken(t, user.email, 'reset-password');
    await t.container.database.db.updateTable('email_tokens').set({ expires_at: new Date(Date.now() - 1) }).where('user_id', '=', user.id).execute();
    expectProblem(await post('/auth/password/reset', { token, new_password: strongPassword() }), 400, 'email_link_invalid');
    expectProblem(await post('/auth/password/reset', { token: 'B'.repeat(43), new_password: strongPassword() }), 400, 'email_link_invalid');
  });

  it('change: needs the current password, refuses reuse of recent ones, ends the other sessions only', async () => {
    const u = await signedInUser(t);
    const other = await signIn(t, u);
    const wrong = await post('/auth/password/change', { current_password: 'Not-my-password1!', new_password: strongPassword() }, bearer(u.accessToken));
    expectProblem(wrong, 403, 'current_password_incorrect');
    const same = await post('/auth/password/change', { current_password: u.password, new_password: u.password }, bearer(u.accessToken));
    expect(expectProblem(same, 422, 'password_policy').reasons).toEqual(['reused']);
    const next = strongPassword();
    expect((await post('/auth/password/change', { current_password: u.password, new_password: next }, bearer(u.accessToken))).statusCode).toBe(204);
    expect((await me(t, u.accessToken)).statusCode).toBe(200);
    expectProblem(await me(t, other.accessToken), 401, 'invalid_token');
    // Back to the first password: still within the last PASSWORD_PREVENT_REUSE_COUNT.
    const back = await post('/auth/password/change', { current_password: next, new_password: u.password }, bearer(u.accessToken));
    expect(expectProblem(back, 422, 'password_policy').reasons).toEqual(['reused']);
    const events = await t.container.auth.auditEvents.list({ userId: u.id, event: 'password.changed' });
    expect(events).toHaveLength(1);
    expect(JSON.stringify(events)).not.toContain(next);
  });

  it('1 MB password and 1 MB e-mail are refused fast, before any hashing', async () => {
    const big = 'A1!a'.repeat(250_000);
    const started = performance.now();
    const answers = await Promise.all([
      post('/auth/login', { email: uniqueEmail(), password: big }),
      post('/auth/register', { email: uniqueEmail(), password: big }),
      post('/auth/login', { email: `${'a'.repeat(1_000_000)}@example.com`, password: 'x' }),
      post('/auth/register', { email: `${'a'.repeat(1_000_000)}@example.com`, password: strongPassword() }),
      post('/auth/password/forgot', { email: `${'a'.repeat(1_000_000)}@example.com` }),
    ]);
    const elapsed = performance.now() - started;
    for (const res of answers) {
      expect([413, 422]).toContain(res.statusCode);
      expect(res.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect(elapsed).toBeLessThan(2_000);
    // A password over PASSWORD_MAX_LENGTH (128) but under the 4 KB ceiling: the policy says so, nothing hashed.
    const long = await post('/auth/register', { email: uniqueEmail(), password: 'A1!a'.repeat(100) });
    expect(expectProblem(long, 422, 'password_policy').reasons).toEqual(['too_long']);
  });
});

describe(`REQUIRE_EMAIL_VERIFICATION=true (${BACKEND})`, () => {
  it('sign-in is 403 email_not_verified until the link is followed; resend works without a token', async () => {
    const t = await createTestApp({ env: { ...AUTH_TEST_ENV, REQUIRE_EMAIL_VERIFICATION: 'true' } });
    try {
      const user = await registerUser(t);
      expectProblem(await login(t, user), 403, 'email_not_verified');
      expectProblem(await login(t, { email: user.email, password: 'Wrong-password-1!' }), 401, 'invalid_credentials');
      await t.container.kv.del(`mail-throttle:verify:${user.id}`);
      const resendWith = (payload?: unknown) => t.app.inject({ method: 'POST', url: '/api/v1/auth/email/resend', ...(payload === undefined ? {} : { payload: payload as object }) });
      // Signed out, the body is {email} and nothing else.
      for (const bad of [{ email: user.email, extra: 1 }, { email: 5 }, { email: [user.email] }, { email: 'x'.repeat(321) }]) {
        expectProblem(await resendWith(bad), 422, 'validation_failed');
      }
      expectProblem(await resendWith({}), 422, 'validation_failed');
      expectProblem(await resendWith(), 422, 'validation_failed');
      const resend = await resendWith({ email: user.email });
      expect(resend.statusCode).toBe(202);
      const token = await linkToken(t, user.email, 'verify-email');
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/email/verify', payload: { token } })).statusCode).toBe(200);
      expect((await login(t, user)).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe(`password age and argon2 parameters (${BACKEND})`, () => {
  it('password_expired after PASSWORD_MAX_AGE_DAYS; re-hash at sign-in when the argon2 parameters change', async () => {
    const t = await createTestApp({ env: { ...AUTH_TEST_ENV, ARGON2_MEMORY_KIB: '8192', ARGON2_ITERATIONS: '1' } });
    let t2: TestApp | undefined;
    try {
      const user = await registerUser(t);
      const db = t.container.database.db;
      const hashOf = async () => (await db.selectFrom('users').select('password_hash').where('id', '=', user.id).executeTakeFirstOrThrow()).password_hash;
      expect(await hashOf()).toMatch(/^\$argon2id\$v=19\$m=8192,t=1,p=1\$/);
      await db.updateTable('users').set({ password_changed_at: new Date(Date.now() - 91 * 86_400_000) }).where('id', '=', user.id).execute();
      expect((await login(t, user)).json()).toMatchObject({ password_expired: true });

      t2 = await createTestApp({ sameStoresAs: t, env: { ARGON2_MEMORY_KIB: '19456', ARGON2_ITERATIONS: '2' } });
      expect((await login(t2, user)).statusCode).toBe(200);
      expect(await hashOf()).toMatch(/^\$argon2id\$v=19\$m=19456,t=2,p=1\$/);
      expect((await login(t2, user)).statusCode).toBe(200);
    } finally {
      await t2?.close();
      await t.close();
    }
  });
});
