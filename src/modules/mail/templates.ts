import { BIDI_CONTROLS, CONTROL_CHARACTERS } from '../../text/characters.js';

/**
 * The account e-mails, each as plain text and HTML. Display names are user input: they are
 * HTML-escaped in the HTML part and stripped of control and bidi characters in both. Links are
 * built by the caller from PUBLIC_URL; a template only embeds them. HTML uses inline styles only
 * and loads nothing from outside (no images, no web fonts).
 */

export type MailKind = 'verify_email' | 'password_reset' | 'lockout_notice' | 'password_changed';

export interface MailContent {
  subject: string;
  text: string;
  html: string;
  kind: MailKind;
}

const PRODUCT = 'Tessera';

export function verifyEmail(input: { displayName: string | null; link: string; expiresInHours: number }): MailContent {
  const expiry = `This link expires in ${plural(input.expiresInHours, 'hour')} and works once.`;
  const ignore = `If you did not create a ${PRODUCT} account, you can ignore this e-mail.`;
  return compose({
    kind: 'verify_email',
    subject: `Confirm your e-mail address for ${PRODUCT}`,
    displayName: input.displayName,
    blocks: [
      { text: `Please confirm your e-mail address by opening this link:` },
      { link: input.link, label: 'Confirm e-mail address' },
      { text: expiry },
      { text: ignore, muted: true },
    ],
  });
}

export function passwordReset(input: { displayName: string | null; link: string; expiresInMinutes: number }): MailContent {
  return compose({
    kind: 'password_reset',
    subject: `Reset your ${PRODUCT} password`,
    displayName: input.displayName,
    blocks: [
      { text: 'Someone asked to reset the password of your account. To choose a new password, open this link:' },
      { link: input.link, label: 'Choose a new password' },
      { text: `This link expires in ${plural(input.expiresInMinutes, 'minute')} and works once.` },
      { text: 'If you did not ask for this, ignore this e-mail: your password stays as it is.', muted: true },
    ],
  });
}

export function lockoutNotice(input: { displayName: string | null; lockedMinutes: number; ip: string | null; at: Date }): MailContent {
  return compose({
    kind: 'lockout_notice',
    subject: `Your ${PRODUCT} account was locked after failed sign-in attempts`,
    displayName: input.displayName,
    blocks: [
      {
        text:
          `After too many failed sign-in attempts, your account was locked for ${plural(input.lockedMinutes, 'minute')} ` +
          `on ${formatTime(input.at)}${fromAddress(input.ip)}.`,
      },
      { text: 'If this was you, wait for the lock to end and sign in again.' },
      { text: 'If it was not you, someone may be guessing your password: choose a new one with "Forgot password" on the sign-in page.' },
    ],
  });
}

export function passwordChanged(input: { displayName: string | null; at: Date; ip: string | null }): MailContent {
  return compose({
    kind: 'password_changed',
    subject: `Your ${PRODUCT} password was changed`,
    displayName: input.displayName,
    blocks: [
      { text: `The password of your account was changed on ${formatTime(input.at)}${fromAddress(input.ip)}. Your other sessions were signed out.` },
      { text: 'If you did this, there is nothing more to do.' },
      { text: 'If you did not, reset your password at once with "Forgot password" on the sign-in page.' },
    ],
  });
}

type Block = { text: string; muted?: boolean } | { link: string; label: string };

function compose(mail: { kind: MailKind; subject: string; displayName: string | null; blocks: Block[] }): MailContent {
  const name = mail.displayName === null ? '' : plainName(mail.displayName);
  const greeting = name ? `Hello ${name},` : 'Hello,';
  const signature = `— ${PRODUCT}`;

  const text = [greeting, ...mail.blocks.map((b) => ('link' in b ? checkedLink(b.link) : b.text)), signature].join('\n\n') + '\n';

  const body = [
    paragraph(escapeHtml(greeting)),
    ...mail.blocks.map((b) => ('link' in b ? button(checkedLink(b.link), b.label) : paragraph(escapeHtml(b.text), b.muted))),
    paragraph(escapeHtml(signature), true),
  ].join('\n');
  const html = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(mail.subject)}</title>
</head>
<body style="margin:0;padding:0;background:#f4f4f5;">
<div style="max-width:560px;margin:0 auto;padding:32px 24px;font-family:-apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;font-size:16px;line-height:1.5;color:#18181b;background:#ffffff;">
${body}
</div>
</body>
</html>
`;
  return { subject: mail.subject, text, html, kind: mail.kind };
}

function paragraph(html: string, muted = false): string {
  return `<p style="margin:0 0 16px;${muted ? 'color:#71717a;font-size:14px;' : ''}">${html}</p>`;
}

/** A button-styled link, and the link written out for clients that hide or break buttons. */
function button(link: string, label: string): string {
  const href = escapeHtml(link);
  return (
    `<p style="margin:24px 0;"><a href="${href}" style="display:inline-block;padding:12px 20px;background:#2563eb;color:#ffffff;` +
    `text-decoration:none;border-radius:6px;font-weight:600;">${escapeHtml(label)}</a></p>\n` +
    paragraph(`Or copy this link into your browser:<br><a href="${href}" style="color:#2563eb;word-break:break-all;">${href}</a>`, true)
  );
}

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * A display name fit for a line of mail: no control characters (a newline could fake a paragraph)
 * and no bidi overrides (which can make text read differently from what it is), length bounded.
 */
function plainName(displayName: string): string {
  const cleaned = displayName
    .replace(CONTROL_CHARACTERS, ' ')
    .replace(BIDI_CONTROLS, ' ')
    .replace(/\s+/g, ' ')
    .trim();
  const chars = Array.from(cleaned);
  return chars.length > 100 ? `${chars.slice(0, 100).join('')}…` : cleaned;
}

/** Links come from PUBLIC_URL, an http(s) URL; anything else is a bug in the caller, not something to mail. */
function checkedLink(link: string): string {
  const url = URL.canParse(link) ? new URL(link) : null;
  if (!url || (url.protocol !== 'https:' && url.protocol !== 'http:')) throw new Error('mail links must be absolute http(s) URLs');
  return url.href;
}

function plural(n: number, unit: string): string {
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** `2025-03-01 14:05 UTC`: one unambiguous form, whatever the reader's locale. */
function formatTime(at: Date): string {
  return `${at.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}

function fromAddress(ip: string | null): string {
  return ip ? ` from the address ${plainName(ip)}` : '';
}
