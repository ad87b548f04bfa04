import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../../errors/app-error.js';
import type { PutObjectOptions, PutObjectResult } from './object-storage.js';

export type BodyLimits = Pick<PutObjectOptions, 'contentLength' | 'maxBytes'>;

/**
 * Counts and hashes a body's bytes against its limits, chunk by chunk: the part of a meter that
 * is not a stream, shared by BodyMeter (S3, Cloudinary) and the local store's FileSink.
 */
export class BodyMeasure {
  bytes = 0;
  private readonly hash = createHash('sha256');
  private digest: string | null = null;

  constructor(private readonly limits: BodyLimits) {}

  /** Counts and hashes `chunk`; the limit it breaks instead (then nothing more may be added). */
  add(chunk: Buffer): AppError | null {
    this.bytes += chunk.length;
    const problem = limitProblem(this.bytes, this.limits, false);
    if (problem) return problem;
    this.hash.update(chunk);
    return null;
  }

  /** The body ended: the limit its length breaks, or null and the digest is taken. */
  end(): AppError | null {
    const problem = limitProblem(this.bytes, this.limits, true);
    if (problem) return problem;
    this.digest = this.hash.digest('hex');
    return null;
  }

  result(): PutObjectResult {
    if (this.digest === null) throw new Error('the body has not been read to its end');
    return { size: this.bytes, sha256: this.digest };
  }
}

/** What watchBody reports to: the stream the body is piped into. */
export interface BodyWatcher {
  readonly destroyed: boolean;
  recordBodyError(err: unknown): void;
}

/**
 * Tells `watcher` about the body's own failures (an error, or a close before its end) while the
 * watcher is still whole. Register before pipeline() so these listeners run first: a source
 * torn down because the store failed (the watcher was destroyed first) is not the body's fault.
 */
export function watchBody(source: Readable, watcher: BodyWatcher): void {
  source.once('error', (err) => {
    if (!watcher.destroyed) watcher.recordBodyError(err);
  });
  source.once('close', () => {
    if (!source.readableEnded && !watcher.destroyed) watcher.recordBodyError(new Error('The upload body was closed before its end'));
  });
}

/**
 * Sits between an upload's source and the store: counts and hashes the bytes that pass, and
 * errors (so the store never commits the object) when the body breaks its limits, errors, or
 * is destroyed before its end. `bodyError` tells the body's own failure apart from the store's.
 */
export class BodyMeter extends Transform implements BodyWatcher {
  /** the first failure of the body itself (limits, source error, premature close) */
  bodyError: unknown = null;
  private readonly measure: BodyMeasure;
  private abandoned = false;

  constructor(limits: BodyLimits) {
    super();
    this.measure = new BodyMeasure(limits);
  }

  // Not `size`: lib-storage reads a body's `size` as its length.
  get bytesSeen(): number {
    return this.measure.bytes;
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    const problem = this.measure.add(bytes);
    if (problem) return callback(this.fail(problem));
    callback(null, bytes);
  }

  override _flush(callback: TransformCallback): void {
    const problem = this.measure.end();
    if (problem) return callback(this.fail(problem));
    callback();
  }

  /** the store gave up (its own failure): stop the source without blaming the body */
  abandon(): void {
    this.abandoned = true;
    this.destroy();
  }

  recordBodyError(err: unknown): void {
    if (!this.abandoned && this.bodyError === null) this.bodyError = err;
  }

  result(): PutObjectResult {
    return this.measure.result();
  }

  private fail(err: AppError): AppError {
    this.recordBodyError(err);
    return err;
  }
}

/** Pipes `source` through a new meter; read the meter, not the source. */
export function meterBody(source: Readable, limits: BodyLimits): BodyMeter {
  const meter = new BodyMeter(limits);
  watchBody(source, meter);
  pipeline(source, meter, () => undefined);
  return meter;
}

/** For a Buffer body: the same limits, checked at once. */
export function measureBuffer(body: Buffer, limits: BodyLimits): PutObjectResult {
  const problem = limitProblem(body.length, limits, true);
  if (problem) throw problem;
  return { size: body.length, sha256: createHash('sha256').update(body).digest('hex') };
}

function limitProblem(size: number, limits: BodyLimits, ended: boolean): AppError | null {
  if (limits.maxBytes !== undefined && size > limits.maxBytes) {
    return new AppError('payload_too_large', { detail: `The body is larger than ${limits.maxBytes} bytes` });
  }
  if (limits.contentLength !== undefined && (size > limits.contentLength || (ended && size !== limits.contentLength))) {
    return new AppError('bad_request', { detail: `The body is not the ${limits.contentLength} bytes it declared` });
  }
  return null;
}
