import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import { AppError } from '../../errors/app-error.js';
import { toMailOptions } from './mail-options.js';
import type { MailMessage, Mailer } from './mailer.js';
import { maskAddress } from './mask-address.js';

/** Where the outbox lives inside DATA_DIR. */
export function outboxDir(dataDir: string): string {
  return path.join(dataDir, 'outbox');
}

/**
 * The embedded mode's mailer: each message becomes an RFC 5322 `.eml` file in DATA_DIR/outbox
 * (open it in any mail client) and one log line says it is there. The body is never logged:
 * it holds single-use tokens.
 */
export class OutboxMailer implements Mailer {
  readonly kind = 'outbox' as const;
  // nodemailer composes the MIME (headers, encodings, multipart/alternative); CRLF as on the wire.
  private readonly composer = createTransport({ streamTransport: true, buffer: true, newline: 'windows' });

  constructor(
    readonly dir: string,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async send(message: MailMessage): Promise<void> {
    const to = maskAddress(message.to);
    const name = `${new Date().toISOString().replace(/:/g, '-')}-${fileKind(message.kind)}-${randomBytes(6).toString('hex')}.eml`;
    const file = path.join(this.dir, name);
    // A dot-name ending in .tmp: readers (readOutbox, a watching developer) skip it until the rename.
    const temp = path.join(this.dir, `.${name}.tmp`);
    try {
      const { message: eml } = await this.composer.sendMail(toMailOptions(this.from, message));
      await mkdir(this.dir, { recursive: true, mode: 0o700 });
      await writeFile(temp, eml, { mode: 0o600, flag: 'wx' });
      await rename(temp, file);
    } catch (err) {
      await rm(temp, { force: true }).catch(() => undefined);
      this.logger.warn({ kind: message.kind, to, err: { code: (err as NodeJS.ErrnoException).code } }, 'mail could not be written to the outbox');
      throw new AppError('service_unavailable', { detail: 'The e-mail could not be queued', cause: err });
    }
    this.logger.info({ kind: message.kind, to, file }, 'mail written to the outbox');
  }

  async close(): Promise<void> {
    this.composer.close();
  }
}

/** Kinds are code constants, but a file name must never gain a separator from one. */
function fileKind(kind: string): string {
  return kind.replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 40) || 'mail';
}

export interface OutboxEntry {
  /** absolute path of the .eml file */
  file: string;
  to: string;
  subject: string;
  text: string;
  html: string;
}

/**
 * Every message in DATA_DIR/outbox, oldest first, parsed back from its .eml file: for tests and
 * for development (reading the link out of a verification e-mail).
 */
export async function readOutbox(dataDir: string): Promise<OutboxEntry[]> {
  const dir = outboxDir(dataDir);
  let names: string[];
  try {
    names = (await readdir(dir)).filter((n) => n.endsWith('.eml') && !n.startsWith('.'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  // Loaded on first use: the server itself never parses mail.
  const { simpleParser } = await import('mailparser');
  const entries = await Promise.all(
    names.map(async (name) => {
      const file = path.join(dir, name);
      const [source, stats] = await Promise.all([readFile(file), stat(file, { bigint: true })]);
      const parsed = await simpleParser(source);
      const to = (Array.isArray(parsed.to) ? parsed.to : parsed.to ? [parsed.to] : [])
        .flatMap((group) => group.value)
        .map((address) => address.address ?? '')
        .filter(Boolean)
        .join(', ');
      const entry: OutboxEntry = { file, to, subject: parsed.subject ?? '', text: parsed.text ?? '', html: parsed.html || '' };
      return { entry, stamp: name.slice(0, name.indexOf('Z') + 1), written: stats.mtimeNs };
    }),
  );
  // Names start with a millisecond timestamp; the file time orders messages written in the same millisecond.
  entries.sort((a, b) => a.stamp.localeCompare(b.stamp) || compareBigInt(a.written, b.written) || a.entry.file.localeCompare(b.entry.file));
  return entries.map((e) => e.entry);
}

function compareBigInt(a: bigint, b: bigint): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
