import { createHash, randomBytes } from 'node:crypto';

/**
 * Opaque secrets handed to clients (refresh tokens, e-mail links, client secrets): 256 random
 * bits, base64url. Only their SHA-256 is stored; with that much entropy a fast hash is enough
 * (nothing to brute-force), and it keeps lookups to one indexed equality.
 */
export function newOpaqueToken(): string {
  return randomBytes(32).toString('base64url');
}

export function hashOpaqueToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** The shape of a token newOpaqueToken made: anything else is refused without a lookup. */
export function looksLikeOpaqueToken(value: string): boolean {
  return /^[A-Za-z0-9_-]{43}$/.test(value);
}
