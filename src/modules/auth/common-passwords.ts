import { createRequire } from 'node:module';

/**
 * The ~50,000 most common passwords from the maintained zxcvbn-ts list (lower-cased, offline,
 * shipped in the npm package). Loaded once, on first use (or by `loadCommonPasswords` once the
 * server is up): the package decompresses its dictionaries when loaded, which start-up need not wait for.
 */
let common: Set<string> | null = null;

function list(): Set<string> {
  if (!common) {
    const { dictionary } = createRequire(import.meta.url)('@zxcvbn-ts/language-common') as { dictionary: Record<string, string[]> };
    common = new Set(dictionary['passwords-common']);
  }
  return common;
}

/** Loads the list now (after start-up), so the first password checked does not wait for it. */
export function loadCommonPasswords(): void {
  list();
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
