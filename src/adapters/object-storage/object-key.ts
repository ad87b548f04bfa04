import { AppError } from '../../errors/app-error.js';
import { hasControlCharacter, hasLoneSurrogate } from '../../text/characters.js';

/** S3 allows 1024 bytes; half leaves room for the local root and Cloudinary folders. */
export const MAX_OBJECT_KEY_BYTES = 512;
/** file systems allow 255 bytes a name; the local store's temporary name adds 42 */
export const MAX_OBJECT_KEY_SEGMENT_BYTES = 200;

/**
 * A key is one or more `/`-separated segments of printable characters: no empty, `.` or `..`
 * segment, no segment starting with `.` (the local store keeps its temporary files there),
 * no leading or trailing `/`, no backslash, no control character, at most 512 UTF-8 bytes
 * and 200 a segment.
 * Keys are made by the services (`avatars/<user>/<hash>-800.webp`), never taken from a client
 * as they are; this is the last line, not the first.
 */
export function objectKeyProblem(key: string): string | null {
  if (typeof key !== 'string' || key.length === 0) return 'is empty';
  if (Buffer.byteLength(key, 'utf8') > MAX_OBJECT_KEY_BYTES) return `is longer than ${MAX_OBJECT_KEY_BYTES} bytes`;
  if (key.includes('\\')) return 'contains a backslash';
  if (hasControlCharacter(key)) return 'contains a control character';
  if (hasLoneSurrogate(key)) return 'is not well-formed Unicode';
  if (key.startsWith('/')) return 'starts with /';
  for (const segment of key.split('/')) {
    if (segment === '') return 'has an empty segment';
    if (segment === '..' || segment === '.') return 'has a relative segment';
    if (segment.startsWith('.')) return 'has a segment starting with a dot';
    if (Buffer.byteLength(segment, 'utf8') > MAX_OBJECT_KEY_SEGMENT_BYTES) return `has a segment longer than ${MAX_OBJECT_KEY_SEGMENT_BYTES} bytes`;
  }
  return null;
}

export function isValidObjectKey(key: string): boolean {
  return objectKeyProblem(key) === null;
}

/** An object key that no store may use. A 400 if it reaches the error plugin. */
export class InvalidObjectKeyError extends AppError {
  constructor(
    readonly key: string,
    problem: string,
  ) {
    super('bad_request', { detail: `The object key ${problem}` });
    this.name = 'InvalidObjectKeyError';
  }
}

export function assertObjectKey(key: string): void {
  const problem = objectKeyProblem(key);
  if (problem) throw new InvalidObjectKeyError(key, problem);
}

/** A list prefix: empty, or a key-like string that may end with `/`. */
export function assertObjectPrefix(prefix: string): void {
  if (prefix === '') return;
  const trimmed = prefix.endsWith('/') ? prefix.slice(0, -1) : prefix;
  const problem = objectKeyProblem(trimmed);
  if (problem) throw new InvalidObjectKeyError(prefix, problem);
}

/** Percent-encodes each segment for a URL path, keeping the `/` between them. */
export function encodeKeyForUrl(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}
