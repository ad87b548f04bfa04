import { describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import { decodeCursor, deriveCursorKey, encodeCursor } from './cursor.js';

const key = deriveCursorKey('a secret shared by every instance', 'profiles-search');

function expectInvalid(fn: () => unknown) {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).code).toBe('validation_failed');
    expect((err as AppError).status).toBe(422);
    expect((err as AppError).errors).toEqual([{ field: 'cursor', message: 'is invalid' }]);
    return;
  }
  throw new Error('expected the cursor to be refused');
}

describe('cursor codec', () => {
  it('round-trips a payload and is URL-safe', () => {
    const payload = { n: 'zoë <b>', i: '0b7f3a52-55e4-4c4e-9f4b-2f1d1b0c9a11', q: null };
    const cursor = encodeCursor(payload, key);
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor, key)).toEqual(payload);
  });

  it('refuses an edited body, an edited tag, another key and another list', () => {
    const cursor = encodeCursor({ n: 'a', i: '1' }, key);
    const [body, tag] = cursor.split('.') as [string, string];
    expectInvalid(() => decodeCursor(`${Buffer.from('{"n":"b","i":"1"}').toString('base64url')}.${tag}`, key));
    expectInvalid(() => decodeCursor(`${body}.${tag.replace(/^./, (c) => (c === 'A' ? 'B' : 'A'))}`, key));
    expectInvalid(() => decodeCursor(cursor, deriveCursorKey('another secret', 'profiles-search')));
    expectInvalid(() => decodeCursor(cursor, deriveCursorKey('a secret shared by every instance', 'files')));
  });

  it('refuses garbage, empty, oversized and non-object cursors', () => {
    for (const bad of ['', '.', 'abc', 'a.b.c', '.abc', 'x'.repeat(2000)]) expectInvalid(() => decodeCursor(bad, key));
    expectInvalid(() => decodeCursor(encodeCursor([1, 2] as unknown as object, key), key));
    const notJson = Buffer.from('not json').toString('base64url');
    const forged = encodeCursor({}, key).split('.')[1];
    expectInvalid(() => decodeCursor(`${notJson}.${forged}`, key));
  });
});
