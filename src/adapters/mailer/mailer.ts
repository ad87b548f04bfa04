/**
 * Outgoing e-mail. SMTP (nodemailer) when SMTP_HOST is set; otherwise each message is written
 * as an .eml file to DATA_DIR/outbox and logged, so the embedded mode needs no mail server.
 */
export interface MailMessage {
  to: string;
  subject: string;
  text: string;
  html: string;
  /** what the message is for (verify_email, password_reset, lockout_notice, password_changed): logs and metrics */
  kind: string;
}

export interface Mailer {
  readonly kind: 'smtp' | 'outbox';
  /** throws AppError('service_unavailable') when the mail server cannot take the message */
  send(message: MailMessage): Promise<void>;
  close(): Promise<void>;
}
