/** PostgreSQL's unique_violation (23505), from pg and from PGlite alike. */
export function isUniqueViolation(err: unknown, constraint?: string): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; constraint?: unknown; message?: unknown };
  if (e.code !== '23505') return false;
  if (!constraint) return true;
  return e.constraint === constraint || (typeof e.message === 'string' && e.message.includes(constraint));
}

/**
 * PostgreSQL refused the text itself: character_not_in_repertoire (22021: a NUL, or bytes that
 * are not UTF-8, in a text parameter) or untranslatable_character (22P05: `\u0000` in jsonb).
 * The input's fault, not the server's.
 */
export function isUnstorableText(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const code = (err as { code?: unknown }).code;
  return code === '22021' || code === '22P05';
}
