import { mkdir, open, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Writable } from 'node:stream';
import type { AppError } from '../../errors/app-error.js';
import { BodyMeasure, type BodyLimits, type BodyWatcher } from './body-meter.js';
import type { PutObjectResult } from './object-storage.js';

const MIB = 1024 * 1024;

export interface FileSinkOptions {
  /** the new file's mode, set again at the end (the umask may have taken bits) */
  mode: number;
  limits: BodyLimits;
  /** flush the bytes to disk before the sink finishes (fdatasync) */
  sync: boolean;
  /** the size of each of the sink's two write buffers (default 512 KiB) */
  bufferBytes?: number;
  /** with `sync`: start a flush of what was written so far every this many bytes (default 16 MiB) */
  syncEveryBytes?: number;
}

type Callback = (error?: Error | null) => void;

/**
 * The local store's sink for a streamed body, in one stage: counts, hashes and limit-checks each
 * chunk as it arrives (as BodyMeter does, while the chunk is still in the CPU's cache), copies it
 * into one of two fixed buffers and writes them in turn to a new file (`wx`; its folder created
 * first): while one is written, the other takes in what arrives, and goes out whole in the next
 * write. So the source is not held up by each write, writes are few and large under load, and
 * the socket's chunks are let go at once: held in a queue, they would outlive the young
 * generation's collections and pile up as garbage only a full collection frees (RSS). With `sync`, what is written is flushed to disk in
 * the background every few MiB, so the flush that ends the upload has little left to wait for.
 * A byte past a limit is never written: the sink fails with `bodyError`.
 */
export class FileSink extends Writable implements BodyWatcher {
  /** the first failure of the body itself (limits, source error, premature close) */
  bodyError: unknown = null;
  private readonly measure: BodyMeasure;
  private handle: FileHandle | null = null;
  private readonly syncEveryBytes: number;
  /** the buffer being filled, and the other one: being written, or free */
  private fill: Buffer;
  private spare: Buffer;
  private filled = 0;
  private writing = false;
  /** a chunk not wholly copied yet (both buffers busy), with its write callback */
  private pending: { chunk: Buffer; offset: number; callback: Callback } | null = null;
  /** set by _final: runs once the last bytes are written */
  private ending: (() => void) | null = null;
  private writeError: Error | null = null;
  private unsyncedBytes = 0;
  private flushing: Promise<void> | null = null;

  constructor(
    readonly file: string,
    private readonly options: FileSinkOptions,
  ) {
    // Room for two socket reads: with the 16 KiB default, write() would tell the source to wait
    // for every 64 KiB chunk, although the chunk is taken at once (a pause and a tick each time).
    super({ highWaterMark: 128 * 1024 });
    const size = options.bufferBytes ?? 512 * 1024;
    this.fill = Buffer.allocUnsafeSlow(size);
    this.spare = Buffer.allocUnsafeSlow(size);
    this.measure = new BodyMeasure(options.limits);
    this.syncEveryBytes = options.syncEveryBytes ?? 16 * MIB;
  }

  override _construct(callback: Callback): void {
    mkdir(path.dirname(this.file), { recursive: true })
      .then(() => open(this.file, 'wx', this.options.mode))
      .then((handle) => {
        this.handle = handle;
        callback();
      }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: Callback): void {
    if (this.writeError) return callback(this.writeError);
    const problem = this.measure.add(chunk);
    if (problem) return callback(this.fail(problem));
    this.pending = { chunk, offset: 0, callback };
    this.pump();
  }

  override _final(callback: Callback): void {
    const problem = this.measure.end();
    if (problem) return callback(this.fail(problem));
    this.ending = () => {
      if (this.writeError) return callback(this.writeError);
      this.finish().then(() => callback(), callback);
    };
    if (!this.writing) this.endWrites();
  }

  override _destroy(err: Error | null, callback: Callback): void {
    const handle = this.handle;
    this.handle = null;
    this.pending = null;
    if (!handle) return callback(err);
    // (a write or a background flush may still hold the file: close waits for them)
    handle.close().then(
      () => callback(err),
      (closeErr: unknown) => callback(err ?? (closeErr as Error)),
    );
  }

  recordBodyError(err: unknown): void {
    if (this.bodyError === null) this.bodyError = err;
  }

  /** size and SHA-256 of what was written; once finished */
  result(): PutObjectResult {
    return this.measure.result();
  }

  /**
   * Copies the pending chunk in; a buffer is written when it is full or the file is idle, so
   * what arrives during a write goes out in the next one. Stops while both buffers are busy.
   */
  private pump(): void {
    const pending = this.pending;
    if (!pending) return;
    while (pending.offset < pending.chunk.length) {
      if (this.filled === this.fill.length) {
        if (this.writing || !this.handle) return; // the write under way calls pump() again when done
        this.writeFill();
      }
      const copied = pending.chunk.copy(this.fill, this.filled, pending.offset);
      this.filled += copied;
      pending.offset += copied;
    }
    this.pending = null;
    if (!this.writing && this.filled > 0 && this.handle) this.writeFill(); // the file is idle: write now
    pending.callback();
  }

  /** Writes the filled buffer and fills the other meanwhile. */
  private writeFill(): void {
    const handle = this.handle;
    if (!handle) return; // destroyed
    const buffer = this.fill;
    const length = this.filled;
    this.fill = this.spare;
    this.spare = buffer;
    this.filled = 0;
    this.writing = true;
    writeAll(handle, buffer, length).then(
      () => {
        this.writing = false;
        if (this.destroyed) return;
        this.unsyncedBytes += length;
        if (this.options.sync && this.unsyncedBytes >= this.syncEveryBytes && !this.flushing) this.flushInBackground(handle);
        this.pump();
        if (this.writing) return;
        if (this.ending) this.endWrites();
        else if (this.filled > 0) this.writeFill(); // what arrived during the write
      },
      (err: unknown) => {
        this.writing = false;
        this.writeError = err as Error;
        const { ending, pending } = this;
        this.ending = null;
        this.pending = null;
        if (ending) ending();
        else if (pending) pending.callback(this.writeError);
        else this.destroy(this.writeError);
      },
    );
  }

  /** After the last chunk: writes what the buffer holds, then ends. */
  private endWrites(): void {
    if (this.filled > 0) return this.writeFill();
    const ending = this.ending;
    this.ending = null;
    ending?.();
  }

  /** fdatasync what is written so far while the rest keeps coming; a failure fails the upload */
  private flushInBackground(handle: FileHandle): void {
    this.unsyncedBytes = 0;
    this.flushing = handle.datasync().then(
      () => {
        this.flushing = null;
      },
      (err: unknown) => {
        this.flushing = null;
        this.writeError ??= err as Error;
      },
    );
  }

  private async finish(): Promise<void> {
    const handle = this.handle!;
    if (this.flushing) await this.flushing;
    if (this.writeError) throw this.writeError;
    await handle.chmod(this.options.mode);
    if (this.options.sync) await handle.datasync();
    this.handle = null;
    await handle.close();
  }

  private fail(err: AppError): AppError {
    this.recordBodyError(err);
    return err;
  }
}

/** write until every byte is written (a regular file takes them all at once, short of an error) */
async function writeAll(handle: FileHandle, buffer: Buffer, length: number): Promise<void> {
  for (let offset = 0; offset < length; ) {
    const { bytesWritten } = await handle.write(buffer, offset, length - offset);
    if (bytesWritten === 0) throw new Error('write wrote nothing');
    offset += bytesWritten;
  }
}
