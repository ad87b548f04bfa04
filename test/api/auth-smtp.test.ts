import type { AddressInfo } from 'node:net';
import { simpleParser } from 'mailparser';
import { SMTPServer } from 'smtp-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, login, registerUser, signedInUser, strongPassword } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

interface Received {
  from: string;
  to: string[];
  subject: string;
  text: string;
  html: string;
}

// The account e-mails delivered through a real SMTP server (smtp-server), read back from the wire.
describe(`account e-mails over SMTP (${BACKEND})`, () => {
  let smtp: SMTPServer;
  let t: TestApp;
  const inbox: Received[] = [];

  async function waitFor(to: string, subject: RegExp): Promise<Received> {
    await t.container.auth.mail.drain();
    for (let i = 0; i < 100; i++) {
      const found = inbox.find((m) => m.to.includes(to) && subject.test(m.subject));
      if (found) return found;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no mail to ${to} matching ${subject}`);
  }

  beforeAll(async () => {
    smtp = new SMTPServer({
      authOptional: true,
      disabledCommands: ['STARTTLS'],
      logger: false,
      onData(stream, session, callback) {
        simpleParser(stream).then(
          (parsed) => {
            inbox.push({
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((r) => r.address),
              subject: parsed.subject ?? '',
              text: parsed.text ?? '',
              html: typeof parsed.html === 'string' ? parsed.html : '',
            });
            callback();
          },
          (err: Error) => callback(err),
        );
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const { port } = smtp.server.address() as AddressInfo;
    t = await createTestApp({
      env: { ...AUTH_TEST_ENV, SMTP_HOST: '127.0.0.1', SMTP_PORT: String(port), EMAIL_FROM: 'Tessera <accounts@tessera.example>', PUBLIC_URL: 'https://id.tessera.example' },
    });
  });
  afterAll(async () => {
    await t?.close();
    await new Promise<void>((resolve) => smtp.close(() => resolve()));
  });

  it('uses SMTP, not the outbox', () => {
    expect(t.container.mailer.kind).toBe('smtp');
  });

  it('verification, reset, password-changed and lockout e-mails arrive, in text and HTML, with PUBLIC_URL links', async () => {
    const user = await registerUser(t, { displayName: 'Ann <b>Bold</b>' });
    const verify = await waitFor(user.email, /confirm/i);
    expect(verify.from).toBe('accounts@tessera.example');
    expect(verify.text).toMatch(/https:\/\/id\.tessera\.example\/verify-email\?token=[A-Za-z0-9_-]{43}/);
    expect(verify.html).toContain('https://id.tessera.example/verify-email?token=');
    expect(verify.html).not.toContain('<b>Bold</b>');

    await t.app.inject({ method: 'POST', url: '/api/v1/auth/password/forgot', payload: { email: user.email } });
    const reset = await waitFor(user.email, /reset/i);
    const token = /reset-password\?token=([A-Za-z0-9_-]{43})/.exec(reset.text)?.[1];
    expect(token).toBeDefined();
    const newPassword = strongPassword();
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/password/reset', payload: { token, new_password: newPassword } })).statusCode).toBe(204);
    const changed = await waitFor(user.email, /changed/i);
    expect(changed.text).not.toContain(newPassword);

    for (let i = 0; i < 5; i++) await login(t, { email: user.email, password: 'Wrong-password-1!' });
    const lockout = await waitFor(user.email, /lock/i);
    expect(lockout.text).toMatch(/30 minutes/);
  });

  it('password change e-mails the owner', async () => {
    const u = await signedInUser(t);
    await t.app.inject({
      method: 'POST',
      url: '/api/v1/auth/password/change',
      headers: bearer(u.accessToken),
      payload: { current_password: u.password, new_password: strongPassword() },
    });
    await waitFor(u.email, /changed/i);
  });
});
