import { mkdtemp, readdir, readFile, rm, writeFile, mkdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { simpleParser } from 'mailparser';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import type { MailMessage } from './mailer.js';
import { OutboxMailer, outboxDir, readOutbox } from './outbox.js';

const FROM = 'Tessera <no-reply@tessera.test>';
const TOKEN = 'tok_9f8e7d6c5b4a39281706';

function message(overrides: Partial<MailMessage> = {}): MailMessage {
  return {
    to: 'alice@example.com',
    subject: 'Confirm your e-mail address — ✓',
    text: `Open https://tessera.test/verify-email?token=${TOKEN}\n`,
    html: `<p>Open <a href="https://tessera.test/verify-email?token=${TOKEN}">this link</a> – ünïcödé</p>`,
    kind: 'verify_email',
    ...overrides,
  };
}

function capturingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[]; raw: string[] } {
  const lines: Record<string, unknown>[] = [];
  const raw: string[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => (raw.push(s), lines.push(JSON.parse(s) as Record<string, unknown>)) });
  return { logger, lines, raw };
}

describe('OutboxMailer', () => {
  let dataDir: string;
  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(os.tmpdir(), 'tessera-outbox-'));
  });
  afterEach(async () => {
    await rm(dataDir, { recursive: true, force: true });
  });

  it('writes one RFC 5322 .eml with From, To, Subject, Message-ID, Date and both parts', async () => {
    const { logger } = capturingLogger();
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);
    await mailer.send(message());

    const names = await readdir(outboxDir(dataDir));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/^\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3}Z-verify_email-[0-9a-f]{12}\.eml$/);

    const source = await readFile(path.join(outboxDir(dataDir), names[0]!));
    // CRLF line ends, as on the wire
    expect(source.toString('latin1')).toMatch(/^[\s\S]*?\r\n\r\n/);
    expect(source.toString('latin1')).not.toMatch(/[^\r]\n/);

    const parsed = await simpleParser(source);
    expect(parsed.from?.value[0]).toMatchObject({ address: 'no-reply@tessera.test', name: 'Tessera' });
    expect(parsed.to).toMatchObject({ value: [{ address: 'alice@example.com' }] });
    expect(parsed.subject).toBe('Confirm your e-mail address — ✓');
    expect(parsed.messageId).toMatch(/^<.+@.+>$/);
    expect(parsed.date).toBeInstanceOf(Date);
    expect(parsed.headers.get('mime-version')).toBe('1.0');
    expect(parsed.headers.get('auto-submitted')).toBe('auto-generated');
    expect(parsed.headers.get('content-type')).toMatchObject({ value: 'multipart/alternative' });
    expect(parsed.text).toBe(message().text);
    expect(parsed.html).toBe(message().html);
    await mailer.close();
  });

  it('logs kind, masked recipient and file, never the body or its token', async () => {
    const { logger, lines, raw } = capturingLogger();
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);
    await mailer.send(message());

    const [file] = await readdir(outboxDir(dataDir));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 30, kind: 'verify_email', to: 'a***@example.com', file: path.join(outboxDir(dataDir), file!) });
    expect(raw.join('')).not.toContain(TOKEN);
    expect(raw.join('')).not.toContain('alice@');
  });

  it('reads messages back oldest first, with to, subject, text and html', async () => {
    const { logger } = capturingLogger();
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);
    for (let i = 0; i < 5; i++) await mailer.send(message({ to: `user${i}@example.com`, subject: `Message ${i}` }));

    const entries = await readOutbox(dataDir);
    expect(entries.map((e) => e.subject)).toEqual(['Message 0', 'Message 1', 'Message 2', 'Message 3', 'Message 4']);
    expect(entries[2]).toMatchObject({ to: 'user2@example.com', text: message().text, html: message().html });
    expect(path.dirname(entries[0]!.file)).toBe(outboxDir(dataDir));
  });

  it('leaves only whole files: concurrent sends all land complete, with no temporary files behind', async () => {
    const { logger } = capturingLogger();
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);
    const big = 'x'.repeat(200_000);
    await Promise.all(Array.from({ length: 20 }, (_, i) => mailer.send(message({ subject: `Parallel ${i}`, text: big }))));

    const names = await readdir(outboxDir(dataDir));
    expect(names).toHaveLength(20);
    expect(names.every((n) => n.endsWith('.eml') && !n.startsWith('.'))).toBe(true);
    const entries = await readOutbox(dataDir);
    expect(entries).toHaveLength(20);
    for (const e of entries) expect(e.text).toBe(big);
  });

  it('ignores a file still being written (the temporary dot-name) when reading', async () => {
    const { logger } = capturingLogger();
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);
    await mailer.send(message());
    await writeFile(path.join(outboxDir(dataDir), '.2030-01-01T00-00-00.000Z-verify_email-000000000000.eml.tmp'), 'From: half');

    expect(await readOutbox(dataDir)).toHaveLength(1);
  });

  it('reads an outbox that does not exist yet as empty', async () => {
    expect(await readOutbox(path.join(dataDir, 'nowhere'))).toEqual([]);
  });

  it('answers service_unavailable and leaves nothing when the outbox cannot be written', async () => {
    const { logger, lines } = capturingLogger();
    // The outbox path is taken by a regular file, so the folder cannot be created.
    await mkdir(dataDir, { recursive: true });
    await writeFile(outboxDir(dataDir), 'not a folder');
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);

    const error = await mailer.send(message()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'service_unavailable', status: 503 });
    expect(await readdir(dataDir)).toEqual(['outbox']);
    expect(lines[0]).toMatchObject({ level: 40, kind: 'verify_email', to: 'a***@example.com' });
  });

  it('keeps a kind from adding path separators to the file name', async () => {
    const { logger } = capturingLogger();
    const mailer = new OutboxMailer(outboxDir(dataDir), FROM, logger);
    await mailer.send(message({ kind: '../../escape' }));

    const names = await readdir(outboxDir(dataDir));
    expect(names).toHaveLength(1);
    expect(names[0]).toMatch(/-______escape-[0-9a-f]{12}\.eml$/);
  });
});
