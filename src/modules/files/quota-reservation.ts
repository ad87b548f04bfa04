import { randomUUID } from 'node:crypto';
import { AppError } from '../../errors/app-error.js';
import type { FilesRepository } from '../../repositories/files.repository.js';

/** how long the oldest of a user's concurrent uploads waits for the younger ones to give bytes back */
const OLDEST_RETRY_MS = [25, 50, 100, 200, 400];

export interface QuotaReservationOptions {
  quotaBytes: number;
  /** never hold more than this (MAX_FILE_SIZE): the upload is refused past it anyway */
  capBytes: number;
  /** how much more to hold at a time, so a long upload costs a few round trips, not one per chunk */
  stepBytes: number;
  /** a reservation untouched this long belongs to an upload that died with its process */
  staleAfterMs: number;
}

/**
 * Holds quota for one upload whose size is unknown until its last byte: what the request
 * declares up front when it fits, else step by step as the bytes arrive. Each step is one
 * atomic conditional update (see FilesRepository.reserve), so concurrent uploads can never
 * together hold more than the quota; at the end the bytes held are settled to the real size
 * with the file row (commit) or given back (release).
 */
export class QuotaReservation {
  readonly id = randomUUID();
  private held = 0;
  private pending: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly repo: FilesRepository,
    private readonly userId: string,
    private readonly options: QuotaReservationOptions,
  ) {}

  get heldBytes(): number {
    return this.held;
  }

  /** Holds `bytes` (a declared length) if the quota has room; otherwise holds nothing, without error. */
  async holdUpFront(bytes: number): Promise<void> {
    const wanted = Math.min(bytes, this.options.capBytes);
    if (wanted > 0) await this.track(this.tryHold(wanted));
  }

  /** Null when `totalBytes` is already held; else a promise that holds more, or rejects `quota_exceeded`. */
  ensure(totalBytes: number): Promise<void> | null {
    if (totalBytes <= this.held) return null;
    return this.track(this.grow(totalBytes));
  }

  /** Gives back everything held (after any step in flight has landed). */
  async release(): Promise<void> {
    await this.pending.catch(() => undefined);
    if (this.held === 0) return;
    await this.repo.release(this.id);
    this.held = 0;
  }

  /**
   * Holds a step more, or at least what is needed. When even that does not fit while uploads of
   * the same user run side by side, the oldest of them waits a moment and the younger ones give
   * up, so their bytes come back to it: without this, two uploads growing step by step could
   * each stop the other, and both fail although one of them fits.
   */
  private async grow(totalBytes: number): Promise<void> {
    const needed = totalBytes - this.held;
    const step = Math.min(Math.max(needed, this.options.stepBytes), this.options.capBytes - this.held);
    if (step > needed && (await this.tryHold(step))) return;
    for (let attempt = 0; ; attempt++) {
      if (await this.tryHold(needed)) return;
      const oldest = this.held > 0 && (await this.repo.oldestReservation(this.userId)) === this.id;
      if (!oldest || attempt >= OLDEST_RETRY_MS.length) break;
      await new Promise((resolve) => setTimeout(resolve, OLDEST_RETRY_MS[attempt]));
    }
    throw new AppError('quota_exceeded', {
      detail: `Your files may take ${this.options.quotaBytes} bytes in all (USER_STORAGE_QUOTA_MB); this one does not fit`,
    });
  }

  private async tryHold(bytes: number): Promise<boolean> {
    const staleBefore = new Date(Date.now() - this.options.staleAfterMs);
    const granted = await this.repo.reserve(this.userId, this.id, bytes, this.options.quotaBytes, staleBefore);
    if (granted) this.held += bytes;
    return granted;
  }

  private track<T>(work: Promise<T>): Promise<T> {
    this.pending = work.catch(() => undefined);
    return work;
  }
}
