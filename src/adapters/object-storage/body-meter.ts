import { createHash } from 'node:crypto';
import { pipeline, Transform, type Readable, type TransformCallback } from 'node:stream';
import { AppError } from '../../errors/app-error.js';
import type { PutObjectOptions, PutObjectResult } from './object-storage.js';

type BodyLimits = Pick<PutObjectOptions, 'contentLength' | 'maxBytes'>;

/**
 * Sits between an upload's source and the store: counts and hashes the bytes that pass, and
 * errors (so the store never commits the object) when the body breaks its limits, errors, or
 * is destroyed before its end. `bodyError` tells the body's own failure apart from the store's.
 */
export class BodyMeter extends Transform {
  // Not `size`: lib-storage reads a body's `size` as its length.
  bytesSeen = 0;
  /** the first failure of the body itself (limits, source error, premature close) */
  bodyError: unknown = null;
  private readonly hash = createHash('sha256');
  private digest: string | null = null;
  private abandoned = false;

  constructor(private readonly limits: BodyLimits) {
    super();
  }

  override _transform(chunk: Buffer | string, _encoding: BufferEncoding, callback: TransformCallback): void {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
    this.bytesSeen += bytes.length;
    const problem = limitProblem(this.bytesSeen, this.limits, false);
    if (problem) return callback(this.fail(problem));
    this.hash.update(bytes);
    callback(null, bytes);
  }

  override _flush(callback: TransformCallback): void {
    const problem = limitProblem(this.bytesSeen, this.limits, true);
    if (problem) return callback(this.fail(problem));
    this.digest = this.hash.digest('hex');
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
    if (this.digest === null) throw new Error('the body has not been read to its end');
    return { size: this.bytesSeen, sha256: this.digest };
  }

  private fail(err: AppError): AppError {
    this.recordBodyError(err);
    return err;
  }
}

/** Pipes `source` through a new meter; read the meter, not the source. */
export function meterBody(source: Readable, limits: BodyLimits): BodyMeter {
  const meter = new BodyMeter(limits);
  // Registered before pipeline() so they run first: a source that fails on its own is seen
  // while the meter is still whole; one torn down because the store failed (the meter was
  // destroyed first) is not the body's fault.
  source.once('error', (err) => {
    if (!meter.destroyed) meter.recordBodyError(err);
  });
  source.once('close', () => {
    if (!source.readableEnded && !meter.destroyed) meter.recordBodyError(new Error('The upload body was closed before its end'));
  });
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
