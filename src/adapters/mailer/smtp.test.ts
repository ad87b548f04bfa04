import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { simpleParser, type ParsedMail } from 'mailparser';
import pino from 'pino';
import { SMTPServer, type SMTPServerOptions } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import type { MailMessage } from './mailer.js';
import { SmtpMailer, type SmtpSettings } from './smtp.js';

const FROM = 'Tessera <no-reply@tessera.test>';
const TOKEN = 'tok_reset_0123456789abcdef';

interface Received {
  envelope: { from: string; to: string[] };
  user: string | undefined;
  mail: ParsedMail;
}

/** A real SMTP server on 127.0.0.1 that keeps every message it accepts. */
async function startSmtpServer(options: Partial<SMTPServerOptions> = {}, port = 0) {
  const received: Received[] = [];
  const waiters: ((r: Received) => void)[] = [];
  const server = new SMTPServer({
    logger: false,
    authOptional: true,
    allowInsecureAuth: true,
    disabledCommands: ['STARTTLS'],
    // close() waits this long for open (pooled) connections before dropping them
    closeTimeout: 200,
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => {
        void simpleParser(Buffer.concat(chunks)).then((mail) => {
          const r: Received = {
            envelope: {
              from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
              to: session.envelope.rcptTo.map((a) => a.address),
            },
            user: session.user as string | undefined,
            mail,
          };
          received.push(r);
          waiters.shift()?.(r);
          callback();
        }, callback);
      });
    },
    ...options,
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  return {
    port: (server.server.address() as AddressInfo).port,
    received,
    next: () => new Promise<Received>((resolve) => (received.length > waiters.length ? resolve(received[waiters.length]!) : waiters.push(resolve))),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function settings(port: number, overrides: Partial<SmtpSettings> = {}): SmtpSettings {
  return { host: '127.0.0.1', port, user: null, password: null, secure: false, ...overrides };
}

function message(overrides: Partial<MailMessage> = {}): MailMessage {
  return {
    to: 'bob@example.com',
    subject: 'Reset your Tessera password',
    text: `Open https://tessera.test/reset-password?token=${TOKEN}\n`,
    html: `<p><a href="https://tessera.test/reset-password?token=${TOKEN}">Choose a new password</a> — ünïcödé</p>`,
    kind: 'password_reset',
    ...overrides,
  };
}

function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => (raw.push(s), lines.push(JSON.parse(s) as Record<string, unknown>)) });
  return { logger, lines, raw };
}

describe('SmtpMailer', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('delivers through a real SMTP server: envelope, headers, text and html arrive intact', async () => {
    const smtp = await startSmtpServer();
    cleanups.push(smtp.close);
    const { logger, lines, raw } = capturingLogger();
    const mailer = new SmtpMailer(settings(smtp.port), FROM, logger);
    cleanups.push(() => mailer.close());

    await mailer.send(message());
    const { envelope, mail } = await smtp.next();

    expect(envelope).toEqual({ from: 'no-reply@tessera.test', to: ['bob@example.com'] });
    expect(mail.from?.value[0]).toMatchObject({ address: 'no-reply@tessera.test', name: 'Tessera' });
    expect(mail.to).toMatchObject({ value: [{ address: 'bob@example.com' }] });
    expect(mail.subject).toBe('Reset your Tessera password');
    expect(mail.text).toBe(message().text);
    expect(mail.html).toBe(message().html);
    expect(mail.headers.get('auto-submitted')).toBe('auto-generated');
    expect(mail.messageId).toMatch(/^<.+@.+>$/);

    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, kind: 'password_reset', to: 'b***@example.com', messageId: mail.messageId });
    expect(raw.join('')).not.toContain(TOKEN);
    expect(raw.join('')).not.toContain('bob@');
  });

  it('signs in with SMTP_USER and SMTP_PASSWORD when they are set', async () => {
    const smtp = await startSmtpServer({
      authOptional: false,
      onAuth(auth, _session, callback) {
        if (auth.username === 'mailer' && auth.password === 's3cret-pass') callback(null, { user: 'mailer' });
        else callback(new Error('Invalid username or password'));
      },
    });
    cleanups.push(smtp.close);
    const mailer = new SmtpMailer(settings(smtp.port, { user: 'mailer', password: 's3cret-pass' }), FROM, capturingLogger().logger);
    cleanups.push(() => mailer.close());

    await mailer.send(message());
    expect((await smtp.next()).user).toBe('mailer');

    const wrong = new SmtpMailer(settings(smtp.port, { user: 'mailer', password: 'wrong' }), FROM, capturingLogger().logger);
    cleanups.push(() => wrong.close());
    await expect(wrong.send(message())).rejects.toMatchObject({ code: 'service_unavailable' });
  });

  it('keeps its pooled connection for the next messages', async () => {
    const smtp = await startSmtpServer();
    cleanups.push(smtp.close);
    const mailer = new SmtpMailer(settings(smtp.port), FROM, capturingLogger().logger);
    cleanups.push(() => mailer.close());

    await Promise.all(Array.from({ length: 10 }, (_, i) => mailer.send(message({ to: `user${i}@example.com`, subject: `Message ${i}` }))));
    expect(smtp.received.map((r) => r.mail.subject).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `Message ${i}`).sort());
  });

  it('answers service_unavailable within seconds when the mail server is down', async () => {
    const smtp = await startSmtpServer();
    await smtp.close(); // the port is now closed: connections are refused
    const { logger, lines, raw } = capturingLogger();
    const mailer = new SmtpMailer(settings(smtp.port), FROM, logger);
    cleanups.push(() => mailer.close());

    const started = Date.now();
    const error = await mailer.send(message()).catch((e: unknown) => e);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(lines[0]).toMatchObject({ level: 40, kind: 'password_reset', to: 'b***@example.com' });
    expect(raw.join('')).not.toContain(TOKEN);
  });

  it('fails fast while the server is gone and delivers again once it is back', async () => {
    const first = await startSmtpServer();
    const mailer = new SmtpMailer(settings(first.port), FROM, capturingLogger().logger);
    cleanups.push(() => mailer.close());
    await mailer.send(message({ subject: 'Before' }));
    await first.next();

    await first.close(); // drops the pooled connection too
    const started = Date.now();
    await expect(mailer.send(message({ subject: 'During' }))).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(Date.now() - started).toBeLessThan(3_000);

    const second = await startSmtpServer({}, first.port);
    cleanups.push(second.close);
    await mailer.send(message({ subject: 'After' }));
    expect((await second.next()).mail.subject).toBe('After');
  });

  it('gives up on a server that accepts the connection but never greets', async () => {
    const sockets = new Set<net.Socket>();
    const silent = net.createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanups.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => silent.close(() => resolve()));
    });
    const port = (silent.address() as AddressInfo).port;
    const mailer = new SmtpMailer(settings(port), FROM, capturingLogger().logger, {
      connectionTimeoutMs: 500,
      greetingTimeoutMs: 500,
      socketTimeoutMs: 1_000,
    });
    cleanups.push(() => mailer.close());

    const started = Date.now();
    await expect(mailer.send(message())).rejects.toMatchObject({ code: 'service_unavailable' });
    expect(Date.now() - started).toBeLessThan(3_000);
  });
});
