import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LocalObjectStorage } from '../../adapters/object-storage/local.js';
import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import { AppError } from '../../errors/app-error.js';
import { processAvatar, type ProcessedAvatar } from './avatar-processor.js';
import { deleteAvatarObjects, obsoleteAvatarKeys, storeAvatarObjects } from './avatar-storage.js';

let dir: string;
let storage: LocalObjectStorage;
let avatar: ProcessedAvatar;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-avatar-'));
  storage = new LocalObjectStorage(dir, { publicUrl: 'http://localhost:8000' });
  await storage.init();
  const input = await sharp({ create: { width: 300, height: 300, channels: 3, background: '#336699' } }).png().toBuffer();
  avatar = await processAvatar(input, { formats: ['png'], optimizedSize: 800, thumbnailSize: 200, quality: 85 });
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function keys(): Promise<string[]> {
  const all: string[] = [];
  for await (const item of storage.list()) all.push(item.key);
  return all;
}

describe('storeAvatarObjects', () => {
  it('writes both sizes as public objects under content-addressed keys', async () => {
    const stored = await storeAvatarObjects(storage, 'user-1', avatar);
    expect(stored.optimized.key).toBe(`avatars/user-1/${avatar.optimized.sha256.slice(0, 32)}-800.webp`);
    expect(stored.thumbnail.key).toBe(`avatars/user-1/${avatar.thumbnail.sha256.slice(0, 32)}-200.webp`);
    expect(stored.optimized.url).toBe(`http://localhost:8000/uploads/${stored.optimized.key}`);
    const served = await storage.getPublic(stored.thumbnail.key);
    expect(served.contentType).toBe('image/webp');
    served.stream.destroy();
    expect((await keys()).sort()).toEqual([stored.optimized.key, stored.thumbnail.key].sort());
  });

  it('removes the first object when the second cannot be written, and rethrows', async () => {
    let puts = 0;
    const failing: ObjectStorage = Object.create(storage, {
      put: {
        value: async (...args: Parameters<ObjectStorage['put']>) => {
          puts += 1;
          if (puts === 2) throw new AppError('storage_unavailable');
          return storage.put(...args);
        },
      },
    });
    await expect(storeAvatarObjects(failing, 'user-1', avatar)).rejects.toMatchObject({ code: 'storage_unavailable' });
    expect(await keys()).toEqual([]);
  });
});

describe('obsoleteAvatarKeys and deleteAvatarObjects', () => {
  it('never lists a key the new avatar reuses (the same picture uploaded again)', async () => {
    const stored = await storeAvatarObjects(storage, 'user-1', avatar);
    expect(obsoleteAvatarKeys([stored.optimized.key, stored.thumbnail.key], stored)).toEqual([]);
    expect(obsoleteAvatarKeys(['avatars/user-1/old-800.webp', null, stored.thumbnail.key, 'avatars/user-1/old-800.webp'], stored)).toEqual([
      'avatars/user-1/old-800.webp',
    ]);
    expect(obsoleteAvatarKeys(['a/b.webp'], null)).toEqual(['a/b.webp']);
  });

  it('deletes the old objects and reports those it could not', async () => {
    const stored = await storeAvatarObjects(storage, 'user-1', avatar);
    expect(await deleteAvatarObjects(storage, [stored.optimized.key, stored.thumbnail.key, 'avatars/user-1/missing-800.webp', '../bad'])).toEqual([
      '../bad',
    ]);
    expect(await keys()).toEqual([]);
  });
});
