import { isIP } from 'node:net';
import { createTransport } from 'nodemailer';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import { toMailOptions } from './mail-options.js';
import type { MailMessage, Mailer } from './mailer.js';
import { maskAddress } from './mask-address.js';

export type SmtpSettings = NonNullable<Config['mail']['smtp']>;

export interface SmtpTimeouts {
  /** to open the TCP (or TLS) connection */
  connectionTimeoutMs: number;
  /** from connecting to the server's greeting */
  greetingTimeoutMs: number;
  /** of inactivity on an open connection */
  socketTimeoutMs: number;
}

// A request waits on the mail server (register, forgot password): a dead one must fail in seconds,
// not nodemailer's default of minutes.
export const DEFAULT_SMTP_TIMEOUTS: SmtpTimeouts = { connectionTimeoutMs: 5_000, greetingTimeoutMs: 5_000, socketTimeoutMs: 10_000 };

/**
 * Production mail through an SMTP relay, over a small pool of kept-open connections.
 * SMTP_SECURE (default: port 465) means TLS from the first byte; otherwise STARTTLS is used when
 * the server offers it, and is required when credentials would be sent to a host that is not this machine.
 */
export class SmtpMailer implements Mailer {
  readonly kind = 'smtp' as const;
  private readonly transport;

  constructor(
    smtp: SmtpSettings,
    private readonly from: string,
    private readonly logger: Logger,
    timeouts: SmtpTimeouts = DEFAULT_SMTP_TIMEOUTS,
  ) {
    const auth = smtp.user && smtp.password ? { user: smtp.user, pass: smtp.password } : undefined;
    this.transport = createTransport({
      pool: true,
      maxConnections: 3,
      host: smtp.host,
      port: smtp.port,
      secure: smtp.secure,
      requireTLS: !smtp.secure && auth !== undefined && !isLoopback(smtp.host),
      auth,
      connectionTimeout: timeouts.connectionTimeoutMs,
      greetingTimeout: timeouts.greetingTimeoutMs,
      socketTimeout: timeouts.socketTimeoutMs,
    });
  }

  async send(message: MailMessage): Promise<void> {
    const to = maskAddress(message.to);
    let messageId: string;
    try {
      ({ messageId } = await this.transport.sendMail(toMailOptions(this.from, message)));
    } catch (err) {
      // Code, SMTP reply code and command say what went wrong; the reply text may quote the address.
      const { code, responseCode, command } = err as { code?: string; responseCode?: number; command?: string };
      this.logger.warn({ kind: message.kind, to, err: { code, responseCode, command } }, 'mail could not be sent');
      throw new AppError('service_unavailable', { detail: 'The mail server could not take the message', cause: err });
    }
    this.logger.info({ kind: message.kind, to, messageId }, 'mail sent');
  }

  async close(): Promise<void> {
    this.transport.close();
  }
}

function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h === '::1';
}
