import { Transform, type TransformCallback } from 'node:stream';
import { AppError } from '../../errors/app-error.js';
import { OCTET_STREAM, SNIFF_BYTES, sniffContentType, Utf8StreamValidator, type SniffedType } from './content-type.js';

export interface UploadInspectorOptions {
  /** MAX_FILE_SIZE: the byte after it is refused with `payload_too_large` */
  maxBytes: number;
  /** holds quota for `totalBytes` before they pass (null: already held); rejects `quota_exceeded` */
  hold: (totalBytes: number) => Promise<void> | null;
}

/**
 * Sits between an upload's source and the object store. Counts bytes and refuses the one past
 * MAX_FILE_SIZE at once; holds quota before bytes pass on; keeps the first bytes back until the
 * type is decided from them (`sniffed`), so nothing reaches the store before the type is known
 * and allowed; and checks that text stays UTF-8 to its last byte (`finalType`).
 * The SHA-256 is computed by the store's own meter, in the same pass.
 */
export class UploadInspector extends Transform {
  bytes = 0;
  /** the type from the first SNIFF_BYTES bytes (or the whole content when shorter) */
  readonly sniffed: Promise<SniffedType>;
  private head: Buffer[] | null = [];
  private headLength = 0;
  private sniff: SniffedType | null = null;
  private utf8: Utf8StreamValidator | null = null;
  private settle!: { resolve: (s: SniffedType) => void; reject: (err: Error) => void };

  constructor(private readonly options: UploadInspectorOptions) {
    // Room for a few socket reads (64 KiB each): with the 16 KiB default, every chunk would make
    // write() ask the source to wait for a 'drain' a tick later, although it passes at once.
    super({ highWaterMark: 256 * 1024 });
    this.sniffed = new Promise<SniffedType>((resolve, reject) => (this.settle = { resolve, reject }));
    this.sniffed.catch(() => undefined); // observed by the caller; never an unhandled rejection
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (this.bytes > this.options.maxBytes) {
      return callback(new AppError('payload_too_large', { detail: `Files may be at most ${this.options.maxBytes} bytes (MAX_FILE_SIZE)` }));
    }
    let pending: Promise<void> | null;
    try {
      pending = this.options.hold(this.bytes);
    } catch (err) {
      return callback(err as Error);
    }
    if (pending) pending.then(() => this.accept(chunk, callback), (err: Error) => callback(err));
    else this.accept(chunk, callback);
  }

  override _flush(callback: TransformCallback): void {
    if (this.head) this.decide(true);
    this.utf8?.end();
    callback();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    this.settle.reject(err ?? new Error('The upload ended before its type was known'));
    callback(err);
  }

  /** The stored type: text that turned out not to be UTF-8 after all is `application/octet-stream`. */
  finalType(): string {
    if (!this.sniff) throw new Error('the upload has not been read');
    if (this.sniff.needsUtf8 && this.utf8 && !this.utf8.valid) return OCTET_STREAM;
    return this.sniff.type;
  }

  private accept(chunk: Buffer, callback: TransformCallback): void {
    if (this.head) {
      this.head.push(chunk);
      this.headLength += chunk.length;
      if (this.headLength >= SNIFF_BYTES) this.decide(false);
      return callback();
    }
    this.utf8?.feed(chunk);
    callback(null, chunk);
  }

  private decide(complete: boolean): void {
    const head = Buffer.concat(this.head ?? []);
    this.head = null;
    this.sniff = sniffContentType(head, complete);
    if (this.sniff.needsUtf8) {
      this.utf8 = new Utf8StreamValidator();
      this.utf8.feed(head);
    }
    this.settle.resolve(this.sniff);
    if (head.length > 0) this.push(head);
  }
}
