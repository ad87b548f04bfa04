import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import { avatarObjectKey, CACHE_CONTROL_IMMUTABLE, type AvatarImage, type ProcessedAvatar } from './avatar-processor.js';

export interface StoredAvatarObject {
  key: string;
  url: string;
}

export interface StoredAvatar {
  optimized: StoredAvatarObject;
  thumbnail: StoredAvatarObject;
}

/**
 * Writes both sizes as public, immutable objects. Step one of "objects, then the row, then the
 * old objects": when the second write fails the first is removed (best effort; `tessera storage
 * cleanup` finds any left), and the error (storage_unavailable when the store is down) is rethrown.
 */
export async function storeAvatarObjects(storage: ObjectStorage, userId: string, avatar: ProcessedAvatar): Promise<StoredAvatar> {
  const optimized = await put(storage, userId, avatar.optimized);
  try {
    const thumbnail = await put(storage, userId, avatar.thumbnail);
    return { optimized, thumbnail };
  } catch (err) {
    await storage.delete(optimized.key).catch(() => undefined);
    throw err;
  }
}

/**
 * The previous avatar's keys that the new one does not reuse: uploading the same picture again
 * gives the same content-addressed keys, which must not be deleted after the row is updated.
 */
export function obsoleteAvatarKeys(previous: readonly (string | null | undefined)[], current: StoredAvatar | null): string[] {
  const kept = new Set(current ? [current.optimized.key, current.thumbnail.key] : []);
  return [...new Set(previous.filter((key): key is string => Boolean(key) && !kept.has(key!)))];
}

/** Deletes objects one by one; returns the keys that could not be deleted (for a log line). */
export async function deleteAvatarObjects(storage: ObjectStorage, keys: readonly string[]): Promise<string[]> {
  const failed: string[] = [];
  for (const key of keys) {
    await storage.delete(key).catch(() => failed.push(key));
  }
  return failed;
}

async function put(storage: ObjectStorage, userId: string, image: AvatarImage): Promise<StoredAvatarObject> {
  const key = avatarObjectKey(userId, image.sha256, { size: image.width, format: image.format });
  await storage.put(key, image.data, { contentType: image.contentType, cacheControl: CACHE_CONTROL_IMMUTABLE, public: true });
  return { key, url: storage.publicUrl(key) };
}
