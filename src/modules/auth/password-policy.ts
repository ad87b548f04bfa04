import type { Config } from '../../config/index.js';
import { isCommonPassword } from './common-passwords.js';
import { normalisePassword } from './passwords.js';

/** Hard ceiling whatever PASSWORD_MAX_LENGTH says: nothing longer is ever hashed. */
export const PASSWORD_HARD_MAX_BYTES = 4096;

export type PasswordProblem =
  | 'too_short'
  | 'too_long'
  | 'needs_uppercase'
  | 'needs_lowercase'
  | 'needs_digit'
  | 'needs_special'
  | 'is_email'
  | 'too_common';

const MESSAGES: Record<PasswordProblem, (p: Config['password']) => string> = {
  too_short: (p) => `must be at least ${p.minLength} characters`,
  too_long: (p) => `must be at most ${p.maxLength} characters`,
  needs_uppercase: () => 'must contain an upper-case letter',
  needs_lowercase: () => 'must contain a lower-case letter',
  needs_digit: () => 'must contain a digit',
  needs_special: () => 'must contain a character that is neither a letter nor a digit',
  is_email: () => 'must not be your e-mail address',
  too_common: () => 'is one of the most common passwords; choose another',
};

export function describePasswordProblem(problem: PasswordProblem, policy: Config['password']): string {
  return MESSAGES[problem](policy);
}

/**
 * The seeds' PASSWORD_* rules, each switchable, plus two NIST SP 800-63B rules (not the
 * e-mail itself, not a common password). Length counts characters, not bytes.
 */
export function checkPassword(password: string, policy: Config['password'], email: string | null): PasswordProblem[] {
  if (Buffer.byteLength(password) > PASSWORD_HARD_MAX_BYTES) return ['too_long'];
  const normalised = normalisePassword(password);
  const length = [...normalised].length;
  const problems: PasswordProblem[] = [];
  if (length < policy.minLength) problems.push('too_short');
  if (length > policy.maxLength) return ['too_long'];
  if (policy.requireUppercase && !/\p{Lu}/u.test(normalised)) problems.push('needs_uppercase');
  if (policy.requireLowercase && !/\p{Ll}/u.test(normalised)) problems.push('needs_lowercase');
  if (policy.requireDigits && !/\p{Nd}/u.test(normalised)) problems.push('needs_digit');
  if (policy.requireSpecial && !/[^\p{L}\p{Nd}]/u.test(normalised)) problems.push('needs_special');
  if (email && isEmailItself(normalised, email)) problems.push('is_email');
  if (policy.rejectCommon && isCommonPassword(normalised)) problems.push('too_common');
  return problems;
}

function isEmailItself(password: string, email: string): boolean {
  const p = password.toLowerCase();
  const local = email.split('@')[0] ?? '';
  return p.includes(email) || p === local || (local.length >= 6 && p.replace(/[\d\W_]+$/u, '') === local);
}
