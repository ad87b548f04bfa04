import { hasControlCharacter } from '../../text/characters.js';

/**
 * E-mail addresses are compared and stored in one form: trimmed, Unicode NFC, lower-cased, so
 * "Ann@Example.com " and "ann@example.com" (or a decomposed "é") are one account.
 */
export function normaliseEmail(input: string): string {
  return input.trim().normalize('NFC').toLowerCase();
}

// RFC 5321 limits: 64 for the local part, 254 in all. Deliberately loose otherwise: the
// verification e-mail is the real test of an address.
const EMAIL_SHAPE = /^[^\s@<>()[\]\\,;:"]{1,64}@[^\s@<>()[\]\\,;:"]+\.[^\s@<>()[\]\\,;:".]{2,}$/u;

export function isPlausibleEmail(normalised: string): boolean {
  if (normalised.length > 254) return false;
  if (hasControlCharacter(normalised)) return false;
  return EMAIL_SHAPE.test(normalised);
}
