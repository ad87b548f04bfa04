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
  /** bytes queued while a write is under way before the source is asked to wait (default 1 MiB) */
  highWaterMark?: number;
  /** with `sync`: start a flush of what was written so far every this many bytes (default 16 MiB) */
  syncEveryBytes?: number;
}

/**
 * The local store's sink for a streamed body, in one stage: counts, hashes and limit-checks each
 * chunk as it arrives (as BodyMeter does; while the chunk is still in the CPU's cache) and writes
 * the chunks to a new file (`wx`; its folder created first). The source is not held up by each
 * write: chunks that arrive while a write is under way are queued, up to `highWaterMark` bytes,
 * and written together with one `writev`. With `sync`, the bytes written so far are flushed to
 * disk in the background every few MiB, so the flush that ends the upload has only the last few
 * MiB left to wait for. A byte past a limit is never written: the sink fails with `bodyError`.
 */
export class FileSink extends Writable implements BodyWatcher {
  /** the first failure of the body itself (limits, source error, premature close) */
  bodyError: unknown = null;
  private readonly measure: BodyMeasure;
  private handle: FileHandle | null = null;
  private readonly queueLimit: number;
  private readonly syncEveryBytes: number;
  /** chunks taken in and not yet handed to a write */
  private queue: Buffer[] = [];
  private queuedBytes = 0;
  private writing = false;
  /** the callback of the chunk that filled the queue: called once the queue goes to a write */
  private blocked: ((error?: Error | null) => void) | null = null;
  /** the callback of _final, waiting for the queue to drain */
  private ending: (() => void) | null = null;
  private writeError: Error | null = null;
  private unsyncedBytes = 0;
  private flushing: Promise<void> | null = null;

  constructor(
    readonly file: string,
    private readonly options: FileSinkOptions,
  ) {
    const queueLimit = options.highWaterMark ?? MIB;
    // As high as the queue: write() says "wait" only when the queue is full, not for every
    // chunk larger than the 16 KiB default (each "wait" costs the source a pause and a tick).
    super({ highWaterMark: queueLimit });
    this.queueLimit = queueLimit;
    this.measure = new BodyMeasure(options.limits);
    this.syncEveryBytes = options.syncEveryBytes ?? 16 * MIB;
  }

  override _construct(callback: (error?: Error | null) => void): void {
    mkdir(path.dirname(this.file), { recursive: true })
      .then(() => open(this.file, 'wx', this.options.mode))
      .then((handle) => {
        this.handle = handle;
        callback();
      }, callback);
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    if (this.writeError) return callback(this.writeError);
    const problem = this.measure.add(chunk);
    if (problem) return callback(this.fail(problem));
    this.queue.push(chunk);
    this.queuedBytes += chunk.length;
    if (!this.writing) this.writeQueue();
    if (this.queuedBytes < this.queueLimit) return callback();
    this.blocked = callback; // the source waits until this queue goes to a write
  }

  override _final(callback: (error?: Error | null) => void): void {
    const problem = this.measure.end();
    if (problem) return callback(this.fail(problem));
    const finish = () => {
      if (this.writeError) return callback(this.writeError);
      this.finish().then(() => callback(), callback);
    };
    if (this.writing) this.ending = finish;
    else finish();
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    const handle = this.handle;
    this.handle = null;
    this.queue = [];
    this.queuedBytes = 0;
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

  /** Writes the whole queue with one writev; then the next queue, if chunks came meanwhile. */
  private writeQueue(): void {
    const handle = this.handle;
    if (!handle) return; // destroyed
    const buffers = this.queue;
    const bytes = this.queuedBytes;
    this.queue = [];
    this.queuedBytes = 0;
    this.writing = true;
    const blocked = this.blocked;
    this.blocked = null;
    blocked?.(); // its chunk is on its way: the source may go on
    writeAll(handle, buffers, bytes).then(
      () => {
        this.writing = false;
        if (this.destroyed) return;
        this.unsyncedBytes += bytes;
        if (this.options.sync && this.unsyncedBytes >= this.syncEveryBytes && !this.flushing) this.flushInBackground(handle);
        if (this.queuedBytes > 0) return this.writeQueue();
        const ending = this.ending;
        this.ending = null;
        ending?.();
      },
      (err: unknown) => {
        this.writing = false;
        this.writeError = err as Error;
        const { ending, blocked } = this;
        this.ending = null;
        this.blocked = null;
        if (ending) ending();
        else if (blocked) blocked(this.writeError);
        else this.destroy(this.writeError);
      },
    );
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

/** writev until every byte is written (a regular file takes them all at once, short of an error) */
async function writeAll(handle: FileHandle, buffers: Buffer[], bytes: number): Promise<void> {
  let rest = buffers;
  let left = bytes;
  while (left > 0) {
    const { bytesWritten } = await handle.writev(rest);
    left -= bytesWritten;
    if (left <= 0) return;
    if (bytesWritten === 0) throw new Error('writev wrote nothing');
    rest = dropBytes(rest, bytesWritten);
  }
}

function dropBytes(buffers: Buffer[], count: number): Buffer[] {
  let skip = count;
  let i = 0;
  while (skip >= buffers[i]!.length) skip -= buffers[i++]!.length;
  return [buffers[i]!.subarray(skip), ...buffers.slice(i + 1)];
}
