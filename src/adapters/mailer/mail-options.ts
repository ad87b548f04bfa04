import type { SendMailOptions } from 'nodemailer';
import type { MailMessage } from './mailer.js';

/** The nodemailer message both transports send: the same headers on the wire and in the outbox. */
export function toMailOptions(from: string, message: MailMessage): SendMailOptions {
  return {
    from,
    to: message.to,
    subject: message.subject,
    text: message.text,
    html: message.html,
    // RFC 3834: tells vacation responders and ticket systems not to answer.
    headers: { 'Auto-Submitted': 'auto-generated' },
    // Messages carry only text and HTML; never let a field be read as a file path or URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  };
}
