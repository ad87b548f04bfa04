import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { Mailer } from './mailer.js';
import { OutboxMailer, outboxDir } from './outbox.js';
import { SmtpMailer } from './smtp.js';

export type { MailMessage, Mailer } from './mailer.js';
export { OutboxMailer, outboxDir, readOutbox, type OutboxEntry } from './outbox.js';
export { SmtpMailer, DEFAULT_SMTP_TIMEOUTS, type SmtpSettings, type SmtpTimeouts } from './smtp.js';
export { maskAddress } from './mask-address.js';

/** SMTP when SMTP_HOST is set; otherwise the outbox in DATA_DIR, so the embedded mode needs no mail server. */
export function createMailer(config: Readonly<Config>, logger: Logger): Mailer {
  const log = logger.child({ component: 'mailer' });
  if (config.mail.smtp) return new SmtpMailer(config.mail.smtp, config.mail.from, log);
  return new OutboxMailer(outboxDir(config.dataDir), config.mail.from, log);
}
