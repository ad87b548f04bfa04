import { createHmac, hkdfSync, randomBytes, timingSafeEqual } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';

/**
 * Opaque, tamper-evident list cursors: `base64url(JSON).base64url(HMAC-SHA256)`.
 * A client can read nothing useful in one and change nothing in one: any edit fails the tag.
 * Keys are per list (`purpose`), so a cursor of one list is refused by another.
 */
export type CursorKey = Buffer;

/** Longer cursors are refused before any work (a cursor is a few hundred bytes at most). */
export const MAX_CURSOR_LENGTH = 1024;

export function invalidCursor(): AppError {
  return new AppError('validation_failed', { detail: 'The cursor is invalid', errors: [{ field: 'cursor', message: 'is invalid' }] });
}

/** A 32-byte key for one list, derived (HKDF-SHA256) from a secret shared by every instance. */
export function deriveCursorKey(secret: string | Buffer, purpose: string): CursorKey {
  return Buffer.from(hkdfSync('sha256', secret, 'tessera-cursor', `cursor:${purpose}`, 32));
}

/** A fresh random secret (stored once per installation when no SECRET_KEY is configured). */
export function newCursorSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function encodeCursor(payload: object, key: CursorKey): string {
  const body = Buffer.from(JSON.stringify(payload), 'utf8').toString('base64url');
  return `${body}.${tag(body, key)}`;
}

/** The payload, or a 422 `validation_failed` naming `cursor` for anything forged, edited or malformed. */
export function decodeCursor<T extends object = Record<string, unknown>>(text: string, key: CursorKey): T {
  if (typeof text !== 'string' || text.length === 0 || text.length > MAX_CURSOR_LENGTH) throw invalidCursor();
  const dot = text.indexOf('.');
  if (dot <= 0 || dot !== text.lastIndexOf('.')) throw invalidCursor();
  const body = text.slice(0, dot);
  const given = Buffer.from(text.slice(dot + 1), 'utf8');
  const want = Buffer.from(tag(body, key), 'utf8');
  if (given.length !== want.length || !timingSafeEqual(given, want)) throw invalidCursor();
  try {
    const value: unknown = JSON.parse(Buffer.from(body, 'base64url').toString('utf8'));
    if (value === null || typeof value !== 'object' || Array.isArray(value)) throw new Error('not an object');
    return value as T;
  } catch {
    throw invalidCursor();
  }
}

function tag(body: string, key: CursorKey): string {
  return createHmac('sha256', key).update(body).digest('base64url');
}
