import { describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../../adapters/kv/memory.js';
import type { ProfileRecord } from './privacy.js';
import { ProfileCache } from './profile-cache.js';

const ID = '11111111-1111-4111-8111-111111111111';

function record(visibility: 'public' | 'private'): ProfileRecord {
  return {
    id: ID,
    email: 'a@example.com',
    display_name: 'A',
    bio: null,
    avatar_url: null,
    avatar_thumbnail_url: null,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
    last_login_at: null,
    last_active_at: null,
    privacy: { profile_visibility: visibility, show_email: false, show_activity: true },
  };
}

const ignore = () => undefined;

describe('ProfileCache', () => {
  it('a fill is served until the next change', async () => {
    const cache = new ProfileCache(new MemoryKeyValueStore(), 300, ignore);
    const miss = await cache.lookup(ID);
    expect(miss.hit).toBe(false);
    await cache.fill(ID, miss.hit ? null : miss.version, record('public'));
    expect(await cache.lookup(ID)).toEqual({ hit: true, record: record('public') });
    await cache.invalidate(ID);
    expect((await cache.lookup(ID)).hit).toBe(false);
  });

  it('a reader that read the database before a change and fills after it never serves its stale copy', async () => {
    const kv = new MemoryKeyValueStore();
    const cache = new ProfileCache(kv, 300, ignore);
    const reader = await cache.lookup(ID); // 1. a reader misses and reads the old row (public)…
    await cache.invalidate(ID); // 2. …the owner makes the profile private (commit, then invalidate)…
    await cache.fill(ID, reader.hit ? null : reader.version, record('public')); // 3. …the slow reader fills with the old row
    const next = await cache.lookup(ID);
    expect(next.hit).toBe(false); // the stale public copy is not used
    await cache.fill(ID, next.hit ? null : next.version, record('private'));
    expect(await cache.lookup(ID)).toEqual({ hit: true, record: record('private') });
  });

  it('the version outlives entries filled under the previous one', async () => {
    let now = 1_000_000;
    const kv = new MemoryKeyValueStore(() => now);
    const cache = new ProfileCache(kv, 300, ignore);
    const reader = await cache.lookup(ID);
    await cache.invalidate(ID);
    await cache.fill(ID, reader.hit ? null : reader.version, record('public'));
    now += 299_000; // the stale entry is still there, the version too
    expect((await cache.lookup(ID)).hit).toBe(false);
  });

  it('PROFILE_CACHE_TTL=0 turns the cache off', async () => {
    const cache = new ProfileCache(new MemoryKeyValueStore(), 0, ignore);
    await cache.fill(ID, null, record('public'));
    expect((await cache.lookup(ID)).hit).toBe(false);
  });

  it('a store that fails to answer is a miss that fills nothing; invalidation failures are thrown', async () => {
    const kv = new MemoryKeyValueStore();
    const errors: string[] = [];
    const cache = new ProfileCache(kv, 300, (_err, what) => errors.push(what));
    kv.getMany = () => Promise.reject(new Error('down'));
    kv.set = () => Promise.reject(new Error('down'));
    expect(await cache.lookup(ID)).toEqual({ hit: false, version: undefined });
    await expect(cache.invalidate(ID)).rejects.toThrow('down');
    expect(errors).toEqual(['profile cache read failed']);
  });
});
