import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import { ParsedValues } from '../../adapters/kv/parsed-values.js';
import type { ProfileRecord } from './privacy.js';

export const PROFILE_CACHE_KEY_PREFIX = 'profile:';
const entryKey = (userId: string) => `${PROFILE_CACHE_KEY_PREFIX}${userId}`;
const versionKey = (userId: string) => `${PROFILE_CACHE_KEY_PREFIX}${userId}:version`;

interface Entry {
  /** the version this entry was read under */
  v: string | null;
  r: ProfileRecord;
}

export type CacheLookup =
  | { hit: true; record: ProfileRecord }
  /** `version`: what to fill under; undefined when the store did not answer (then nothing is filled) */
  | { hit: false; version: string | null | undefined };

/**
 * Profile records in the shared key-value store for PROFILE_CACHE_TTL (seed 000: 5 minutes),
 * including the privacy settings they are shown under — so every read checks that the entry
 * is still current, in the same round trip that fetches it:
 *
 * Each user has a version token beside the entry. A change sets a new token (after the
 * database commit, and once before it) and deletes the entry; an entry counts only while its
 * token is the current one. A reader that read the database just before a change and fills
 * the cache just after it fills under the old token, so its entry is never used: the race that
 * makes delete-on-write caches serve stale data cannot serve a stale privacy setting here.
 * The store is shared (Redis across instances), so a change is in force on every instance at
 * the next request, with no message to miss.
 */
export class ProfileCache {
  private readonly ttlMs: number;
  private readonly entries = new ParsedValues<Entry>(parse);
  /** outlives any entry filled under an older token (fills happen within a request's time) */
  private readonly versionTtlMs: number;

  constructor(
    private readonly kv: KeyValueStore,
    ttlSeconds: number,
    private readonly onError: (err: unknown, what: string) => void,
  ) {
    this.ttlMs = ttlSeconds * 1000;
    this.versionTtlMs = Math.max(2 * this.ttlMs + 60_000, 3_600_000);
  }

  get enabled(): boolean {
    return this.ttlMs > 0;
  }

  /** The keys a lookup reads: a caller may read them ahead (in its own round trip) and pass them in. */
  keys(userId: string): string[] {
    return this.enabled ? [entryKey(userId), versionKey(userId)] : [];
  }

  /**
   * The record when the entry read ahead is current, at once (no promise); undefined otherwise
   * (not read ahead, absent, or stale: `lookup` decides what to do then).
   */
  current(userId: string, prefetched: ReadonlyMap<string, string | null> | null | undefined): ProfileRecord | undefined {
    if (!prefetched || !this.enabled) return undefined;
    const entry = prefetched.get(entryKey(userId));
    const version = prefetched.get(versionKey(userId));
    return entry === undefined || version === undefined ? undefined : this.currentRecord(entry, version);
  }

  /** The entry's record when it was filled under the current version token. */
  private currentRecord(entry: string | null, version: string | null): ProfileRecord | undefined {
    if (entry === null) return undefined;
    const parsed = this.entries.get(entry);
    return parsed && parsed.v === version ? parsed.r : undefined;
  }

  async lookup(userId: string, prefetched?: ReadonlyMap<string, string | null> | null): Promise<CacheLookup> {
    if (!this.enabled) return { hit: false, version: undefined };
    let entry: string | null;
    let version: string | null;
    try {
      const ahead = prefetched?.get(entryKey(userId));
      if (ahead !== undefined && prefetched!.has(versionKey(userId))) {
        entry = ahead;
        version = prefetched!.get(versionKey(userId)) ?? null;
      } else {
        [entry = null, version = null] = await this.kv.getMany([entryKey(userId), versionKey(userId)]);
      }
    } catch (err) {
      // The database still answers: a cache outage slows reads, it does not fail them.
      this.onError(err, 'profile cache read failed');
      return { hit: false, version: undefined };
    }
    const record = this.currentRecord(entry, version);
    return record ? { hit: true, record } : { hit: false, version };
  }

  async fill(userId: string, version: string | null | undefined, record: ProfileRecord): Promise<void> {
    if (!this.enabled || version === undefined) return;
    const entry: Entry = { v: version, r: record };
    await this.kv.set(entryKey(userId), JSON.stringify(entry), this.ttlMs, { wait: false }).catch((err: unknown) => this.onError(err, 'profile cache fill failed'));
  }

  /**
   * Makes every cached copy of the profile stale, on every instance. Throws when the store
   * cannot be written. `beforeChange`: the database has not changed yet, so nothing needs to
   * be in force anywhere before this answers (on Redis, a write that must be waits until every
   * instance has dropped its copy: near-cache.ts); the new version token alone does it.
   */
  async invalidate(userId: string, options: { beforeChange?: boolean } = {}): Promise<void> {
    if (options.beforeChange) return this.kv.set(versionKey(userId), randomUUID(), this.versionTtlMs, { wait: false });
    // Together: each waits the same moment.
    await Promise.all([this.kv.set(versionKey(userId), randomUUID(), this.versionTtlMs), this.kv.del(entryKey(userId))]);
  }
}

function parse(text: string): Entry | null {
  try {
    const value = JSON.parse(text) as Entry;
    return value && typeof value === 'object' && value.r && typeof value.r.id === 'string' ? value : null;
  } catch {
    return null;
  }
}
