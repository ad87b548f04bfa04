import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';
import type { AvatarKeys, ProfilesRepository } from '../../repositories/profiles.repository.js';
import type { ProfilesService } from '../profiles/profiles.service.js';
import { avatarObjectKey, CACHE_CONTROL_IMMUTABLE, processAvatar, type AvatarImage, type AvatarProcessingOptions } from './avatar-processor.js';

/** One avatar change per user at a time (lease in the shared store): a crashed holder frees it after this. */
const CHANGE_LEASE_MS = 30_000;
/** how long a second change waits for the first before it is refused (409) */
const CHANGE_WAIT_MS = 10_000;
const CHANGE_RETRY_MS = 50;

export interface AvatarUrls {
  avatar_url: string;
  avatar_thumbnail_url: string;
}

/**
 * PUT and DELETE /users/me/avatar. The order is what keeps a profile from ever pointing at a
 * missing object (STYLE "Data"; Immich does the same):
 *   1. decode and re-encode the upload (nothing is stored for a bad image);
 *   2. write the new objects (a store that fails: 503, the profile untouched, what was
 *      written removed);
 *   3. point the profile at them (a database that fails: the new objects removed);
 *   4. delete the previous objects (a failure only leaves orphans for `tessera storage cleanup`).
 * Steps 2–4 hold the user's change lease: with keys content-addressed, a concurrent upload could
 * otherwise delete as "previous" the very objects another has just rewritten and is pointing at.
 */
export class AvatarService {
  private readonly processing: AvatarProcessingOptions;

  constructor(
    config: Readonly<Config>,
    private readonly storage: ObjectStorage,
    private readonly repository: ProfilesRepository,
    private readonly profiles: ProfilesService,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
    private readonly kv: KeyValueStore,
  ) {
    const a = config.avatars;
    this.processing = { formats: a.formats, optimizedSize: a.optimizedSize, thumbnailSize: a.thumbnailSize, quality: a.quality };
  }

  /**
   * `readUpload` yields the uploaded bytes (it enforces MAX_AVATAR_SIZE_MB while they arrive);
   * every outcome, its failures included, is counted in tessera_avatar_uploads_total.
   */
  async replace(userId: string, readUpload: () => Promise<Buffer>): Promise<AvatarUrls> {
    try {
      const urls = await this.replaceWith(userId, await readUpload());
      this.metrics.avatarUploads.inc({ outcome: 'success' });
      return urls;
    } catch (err) {
      this.metrics.avatarUploads.inc({ outcome: err instanceof AppError ? err.code : 'internal_error' });
      throw err;
    }
  }

  /** Removes the avatar (204 even when there was none). */
  async remove(userId: string): Promise<void> {
    await this.oneChangeAtATime(userId, () => this.removeNow(userId));
  }

  private async removeNow(userId: string): Promise<void> {
    const swapped = await this.profiles.applyChange(userId, () => this.repository.replaceAvatar(userId, null));
    if (!swapped) throw new AppError('not_found', { detail: 'No such user' });
    if (swapped.previous) {
      await this.discard([swapped.previous.avatarKey, swapped.previous.thumbnailKey]);
      await this.profiles.announce(userId);
    }
  }

  /**
   * `tessera storage cleanup --apply`, for an avatar object that is gone: the profile shows no
   * avatar instead of a broken image, if it still points at that key (a new upload meanwhile
   * wins), and the pair's other object is deleted. True when the avatar was cleared.
   */
  async clearMissing(userId: string, missingKey: string): Promise<boolean> {
    const swapped = await this.profiles.applyChange(userId, () => this.repository.replaceAvatar(userId, null, missingKey));
    if (!swapped) return false;
    if (swapped.previous) await this.discard([swapped.previous.avatarKey, swapped.previous.thumbnailKey].filter((k) => k !== missingKey));
    await this.profiles.announce(userId);
    return true;
  }

  private async replaceWith(userId: string, upload: Buffer): Promise<AvatarUrls> {
    const processed = await this.process(upload);
    return this.oneChangeAtATime(userId, () => this.storeAndSwap(userId, processed));
  }

  private async storeAndSwap(userId: string, { optimized, thumbnail }: { optimized: AvatarImage; thumbnail: AvatarImage }): Promise<AvatarUrls> {
    const keys: AvatarKeys = {
      avatarKey: avatarObjectKey(userId, optimized.sha256, { size: this.processing.optimizedSize }),
      thumbnailKey: avatarObjectKey(userId, thumbnail.sha256, { size: this.processing.thumbnailSize }),
    };
    const current = await this.repository.avatarKeys(userId);
    if (!current) throw new AppError('not_found', { detail: 'No such user' });
    // The same picture again has the same keys: those objects are the current avatar's, never discarded.
    const inUse = new Set([current.avatar_key, current.avatar_thumbnail_key]);
    const fresh = (list: string[]) => list.filter((k) => !inUse.has(k));

    const written = await this.store([
      [keys.avatarKey, optimized],
      [keys.thumbnailKey, thumbnail],
    ]);
    if (written.failure) {
      await this.discard(fresh(written.keys));
      throw written.failure;
    }

    let swapped: Awaited<ReturnType<ProfilesRepository['replaceAvatar']>>;
    try {
      swapped = await this.profiles.applyChange(userId, () => this.repository.replaceAvatar(userId, keys));
    } catch (err) {
      await this.discard(fresh(written.keys));
      throw err;
    }
    if (!swapped) {
      await this.discard(fresh(written.keys));
      throw new AppError('not_found', { detail: 'No such user' });
    }
    const previous = swapped.previous;
    if (previous) {
      await this.discard([previous.avatarKey, previous.thumbnailKey].filter((k) => k !== keys.avatarKey && k !== keys.thumbnailKey));
    }
    await this.profiles.announce(userId);
    return { avatar_url: this.storage.publicUrl(keys.avatarKey), avatar_thumbnail_url: this.storage.publicUrl(keys.thumbnailKey) };
  }

  /** Runs `change` holding the user's avatar lease; waits a while for another holder, then 409. */
  private async oneChangeAtATime<T>(userId: string, change: () => Promise<T>): Promise<T> {
    const lease = `avatar-change:${userId}`;
    const holder = randomUUID();
    const giveUpAt = Date.now() + CHANGE_WAIT_MS;
    for (;;) {
      let acquired: boolean;
      try {
        acquired = await this.kv.setIfAbsent(lease, holder, CHANGE_LEASE_MS);
      } catch (err) {
        throw new AppError('kv_unavailable', { detail: 'The avatar cannot be changed right now', cause: err });
      }
      if (acquired) break;
      if (Date.now() >= giveUpAt) throw new AppError('conflict', { detail: 'Another change of this avatar is in progress; try again' });
      await new Promise((resolve) => setTimeout(resolve, CHANGE_RETRY_MS));
    }
    try {
      return await change();
    } finally {
      // Only our own lease: one that expired and was taken over stays with its new holder.
      await this.kv.delIfEquals(lease, holder).catch((err: unknown) => this.logger.warn({ err, userId }, 'avatar lease not released; it expires by itself'));
    }
  }

  private async process(upload: Buffer): Promise<{ optimized: AvatarImage; thumbnail: AvatarImage }> {
    const endTimer = this.metrics.avatarProcessingSeconds.startTimer();
    try {
      return await processAvatar(upload, this.processing);
    } catch (err) {
      // A stable code for "this is not an image we can use"; the processor's field errors kept.
      if (err instanceof AppError && err.code === 'validation_failed') {
        throw new AppError('invalid_image', { detail: err.detail ?? 'The file is not a valid image', errors: err.errors ?? [], cause: err });
      }
      throw err;
    } finally {
      endTimer();
    }
  }

  /** Writes the objects side by side; reports which were written and the first failure, as a 503. */
  private async store(objects: [string, AvatarImage][]): Promise<{ keys: string[]; failure: AppError | null }> {
    const results = await Promise.allSettled(
      objects.map(([key, image]) => this.storage.put(key, image.data, { contentType: image.contentType, cacheControl: CACHE_CONTROL_IMMUTABLE, public: true })),
    );
    const keys = objects.filter((_, i) => results[i]!.status === 'fulfilled').map(([key]) => key);
    const rejected = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (!rejected) return { keys, failure: null };
    this.logger.warn({ err: rejected.reason }, 'avatar objects could not be stored');
    const failure =
      rejected.reason instanceof AppError && rejected.reason.code === 'storage_unavailable'
        ? rejected.reason
        : new AppError('storage_unavailable', { detail: 'The avatar could not be stored; try again shortly', cause: rejected.reason });
    return { keys, failure };
  }

  private async discard(keys: string[]): Promise<void> {
    await Promise.all(
      keys.map((key) =>
        this.storage.delete(key).catch((err: unknown) => this.logger.warn({ err, key }, 'avatar object not deleted; `tessera storage cleanup` removes orphans')),
      ),
    );
  }
}
