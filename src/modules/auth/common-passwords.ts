import { dictionary } from '@zxcvbn-ts/language-common';

/**
 * The ~50,000 most common passwords from the maintained zxcvbn-ts list (lower-cased, offline,
 * shipped in the npm package). Loaded once, on first use.
 */
let common: Set<string> | null = null;

function list(): Set<string> {
  common ??= new Set(dictionary['passwords-common']);
  return common;
}

/**
 * A composition policy turns "password" into "Password123!": so the check also strips a short
 * tail of digits and symbols (and a leading capital, by lower-casing) before looking it up.
 */
export function isCommonPassword(password: string): boolean {
  const lower = password.toLowerCase();
  const words = list();
  if (words.has(lower)) return true;
  const stem = /^(.*?)[\d\W_]{1,4}$/u.exec(lower)?.[1];
  return stem !== undefined && stem.length >= 4 && words.has(stem);
}
