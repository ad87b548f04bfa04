import type { Logger } from 'pino';
import type { Mailer } from '../../adapters/mailer/mailer.js';
import type { Config } from '../../config/index.js';
import { lockoutNotice, passwordChanged, passwordReset, verifyEmail, type MailContent } from '../mail/templates.js';

export const VERIFY_LINK_HOURS = 24;
export const RESET_LINK_MINUTES = 60;

interface Recipient {
  email: string;
  display_name: string | null;
}

/**
 * The account e-mails. Sending never holds up the request (a slow SMTP server would also tell
 * an attacker which addresses have accounts); failures are logged, and `drain()` lets shutdown
 * and tests wait for what is in flight.
 */
export class AuthMail {
  private readonly inFlight = new Set<Promise<void>>();

  constructor(
    private readonly mailer: Mailer,
    private readonly config: Pick<Config, 'server'>,
    private readonly logger: Logger,
  ) {}

  /** Links point at the web app's pages, under PUBLIC_URL. */
  link(page: 'verify-email' | 'reset-password', token: string): string {
    return `${this.config.server.publicUrl}/${page}?token=${encodeURIComponent(token)}`;
  }

  verification(to: Recipient, token: string): void {
    this.send(to, verifyEmail({ displayName: to.display_name, link: this.link('verify-email', token), expiresInHours: VERIFY_LINK_HOURS }));
  }

  reset(to: Recipient, token: string): void {
    this.send(to, passwordReset({ displayName: to.display_name, link: this.link('reset-password', token), expiresInMinutes: RESET_LINK_MINUTES }));
  }

  lockout(to: Recipient, lockedMinutes: number, ip: string | null): void {
    this.send(to, lockoutNotice({ displayName: to.display_name, lockedMinutes, ip, at: new Date() }));
  }

  passwordChanged(to: Recipient, ip: string | null): void {
    this.send(to, passwordChanged({ displayName: to.display_name, at: new Date(), ip }));
  }

  private send(to: Recipient, content: MailContent): void {
    const sending = this.mailer
      .send({ to: to.email, ...content })
      .catch((err: unknown) => this.logger.error({ err, kind: content.kind }, 'an account e-mail could not be sent'))
      .finally(() => this.inFlight.delete(sending));
    this.inFlight.add(sending);
  }

  async drain(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight]);
  }
}
