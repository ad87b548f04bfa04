import type { Readable } from 'node:stream';
import { AppError } from '../../errors/app-error.js';

/**
 * Where avatars and user files live. One interface; `local` (DATA_DIR/uploads) by default,
 * S3-compatible or Cloudinary in production. The profile and file services only see this.
 *
 * Every method validates its key (see object-key.ts). Any failure that means "the store
 * cannot be reached" (refused connection, timeout, 5xx) is an `AppError('storage_unavailable')`.
 */
export interface ObjectStorage {
  readonly kind: StorageKind;
  /** a cheap round trip proving the store can be written to; throws when it cannot */
  check(): Promise<void>;
  close(): Promise<void>;

  /**
   * Stores `body` under `key`, replacing any object there. A Readable is streamed, never held
   * whole in memory. When the body errors, ends short of `contentLength` or passes `maxBytes`,
   * put rejects and no object (not even a partial one) is left; the source is destroyed.
   */
  put(key: string, body: ObjectBody, options: PutObjectOptions): Promise<PutObjectResult>;
  /** the object's bytes, or those of `range` (inclusive); ObjectNotFoundError when missing */
  get(key: string, range?: ByteRange): Promise<StoredObject>;
  /** size and type without the bytes; null when missing */
  head(key: string): Promise<ObjectHead | null>;
  /** idempotent: deleting a missing object is not an error */
  delete(key: string): Promise<void>;
  /** every object whose key starts with `prefix`, for `tessera storage cleanup` */
  list(prefix?: string): AsyncIterable<ListedObject>;
  /** where a public object (an avatar) is served from; no round trip */
  publicUrl(key: string): string;
  /** a short-lived URL that downloads the object as an attachment; null when the store has none (local, cloudinary) */
  signedDownloadUrl(key: string, options: SignedDownloadOptions): Promise<string | null>;
}

export type StorageKind = 'local' | 's3' | 'cloudinary';

export type ObjectBody = Readable | Buffer;

export interface PutObjectOptions {
  contentType: string;
  cacheControl?: string;
  /** readable by anyone at publicUrl(key) (avatars); private otherwise (user files) */
  public?: boolean;
  /** when known: a body of any other length is refused and nothing is stored */
  contentLength?: number;
  /** refused with `payload_too_large` as soon as the body passes this many bytes; nothing is stored */
  maxBytes?: number;
}

export interface PutObjectResult {
  /** bytes stored */
  size: number;
  /** hex SHA-256 of the bytes stored, computed while streaming */
  sha256: string;
}

/** inclusive byte offsets, as in an HTTP Range header */
export interface ByteRange {
  start: number;
  end: number;
}

export interface StoredObject {
  stream: Readable;
  /** size of the whole object (the total in a Content-Range header) */
  size: number;
  contentType: string;
  /** the range the stream holds, its end clamped to the object; null for the whole object */
  range: ByteRange | null;
  /** bytes the stream yields: `size`, or `range.end - range.start + 1` */
  contentLength: number;
}

export interface ObjectHead {
  size: number;
  contentType: string;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified: Date;
}

export interface SignedDownloadOptions {
  expiresInSeconds: number;
  /** the name the browser saves the file under (Content-Disposition: attachment) */
  filename: string;
  contentType: string;
}

/** The object does not exist. A 404 if it reaches the error plugin. */
export class ObjectNotFoundError extends AppError {
  constructor(readonly key: string) {
    super('not_found', { detail: 'The object does not exist' });
    this.name = 'ObjectNotFoundError';
  }
}

/**
 * Validates a requested range against the object's size: the end is clamped to the last byte,
 * a start past the end is `range_not_satisfiable` (416 with `Content-Range: bytes *\/size`).
 */
export function clampRange(range: ByteRange, size: number): ByteRange {
  if (!Number.isSafeInteger(range.start) || !Number.isSafeInteger(range.end) || range.start < 0 || range.end < range.start) {
    throw new AppError('range_not_satisfiable', { detail: 'The range is malformed', headers: { 'Content-Range': `bytes */${size}` } });
  }
  if (range.start >= size) {
    throw new AppError('range_not_satisfiable', { headers: { 'Content-Range': `bytes */${size}` } });
  }
  return { start: range.start, end: Math.min(range.end, size - 1) };
}
