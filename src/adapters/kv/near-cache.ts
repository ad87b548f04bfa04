import { performance } from 'node:perf_hooks';

export interface NearCacheOptions {
  /** keys starting with one of these are kept near (revocation entries, cached users, profiles) */
  prefixes: readonly string[];
  /**
   * W: a local copy is used only while this instance can prove it has seen every invalidation
   * published more than W ago, and a writer waits W after publishing before it answers.
   */
  windowMs: number;
  /** a local copy is dropped after this long even without an invalidation (Redis TTLs are not pushed) */
  entryTtlMs?: number;
  /** at most this many local copies (oldest dropped first) */
  maxEntries?: number;
}

interface Entry {
  value: string | null;
  expiresAt: number;
}

/** Whether `key` starts with one of `prefixes`: the keys kept near (and announced on writes). */
export function coversKey(prefixes: readonly string[], key: string): boolean {
  for (const p of prefixes) if (key.startsWith(p)) return true;
  return false;
}

/** A ping in flight on the invalidation connection: when it was sent, on which connection. */
export interface PingToken {
  readonly epoch: number;
  readonly sentAt: number;
}

/**
 * Local copies of a few shared keys, kept exact by pushed invalidations — so the request gate
 * reads them without a Redis round trip and still never acts on a value older than a write
 * that has answered.
 *
 * Every write of a near key goes through the store, which publishes the key on one channel
 * (in the same Lua script as the write) and, for a change that must be in force at once, waits
 * W before it answers. Each instance reads that channel on a connection of its own and pings
 * Redis on it every W/5. Redis answers a connection in order, so when the answer to a ping
 * sent at time p arrives, every invalidation Redis handled before that ping has been applied.
 * A local copy is used only while the newest answered ping was sent less than W ago: a
 * request that arrives after a writer answered (≥ W after its publish) is decided on an
 * instance whose answered ping was sent after that publish, hence after the invalidation was
 * applied. When pings stop coming back (Redis slow, the event loop blocked, the connection
 * lost) local copies stop being used and every read goes to Redis, as without this cache; a
 * lost connection drops them all, since what was published meanwhile is lost.
 *
 * A value fetched from Redis is kept only when no invalidation of its key arrived while the
 * fetch was in flight (the fetch and the channel are separate connections, so their order is
 * not known): a fetch never re-installs a value a writer has replaced.
 */
export class NearCache {
  readonly windowMs: number;
  private readonly prefixes: readonly string[];
  private readonly entryTtlMs: number;
  private readonly maxEntries: number;
  private readonly entries = new Map<string, Entry>();
  /** invalidations applied so far; a fetch remembers the count it started at */
  private applied = 0;
  /** per key, the count at its latest invalidation (bounded; see `forgetBefore`) */
  private readonly invalidatedAt = new Map<string, number>();
  /** fetches started before this count are not kept (tracking was dropped, or the cache cleared) */
  private forgetBefore = 0;
  /** send time of the newest ping answered on the current connection */
  private confirmedAt = Number.NEGATIVE_INFINITY;
  private epoch = 0;
  /** the connection of this epoch is subscribed: its pings count */
  private listening = false;

  constructor(options: NearCacheOptions, private readonly now: () => number = () => performance.now()) {
    this.windowMs = options.windowMs;
    this.prefixes = options.prefixes;
    this.entryTtlMs = options.entryTtlMs ?? 10_000;
    this.maxEntries = options.maxEntries ?? 50_000;
  }

  /** Whether a key is kept near. */
  covers(key: string): boolean {
    return coversKey(this.prefixes, key);
  }

  /** Local copies may be used now. */
  trusted(at = this.now()): boolean {
    return at - this.confirmedAt < this.windowMs;
  }

  /** The local copy (null: known absent), or undefined when there is none or it may not be used. */
  read(key: string, at = this.now()): string | null | undefined {
    if (at - this.confirmedAt >= this.windowMs) return undefined;
    const e = this.entries.get(key);
    if (e === undefined) return undefined;
    if (e.expiresAt <= at) {
      this.entries.delete(key);
      return undefined;
    }
    return e.value;
  }

  /** Call before fetching near keys; pass the answer to `keep`. */
  mark(): number {
    return this.applied;
  }

  /** Keeps a fetched value, unless the key was invalidated since `mark`. */
  keep(key: string, value: string | null, mark: number): void {
    if (mark < this.forgetBefore) return;
    const at = this.invalidatedAt.get(key);
    if (at !== undefined && at > mark) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt: this.now() + this.entryTtlMs });
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
  }

  /** Drops the local copies of these keys (a write here, or one published by any instance). */
  invalidate(keys: Iterable<string>): void {
    this.applied += 1;
    for (const key of keys) {
      this.entries.delete(key);
      this.invalidatedAt.set(key, this.applied);
    }
    // Invalidations older than every fetch in flight no longer matter; when the map grows,
    // drop it and refuse the fetches now in flight instead.
    if (this.invalidatedAt.size > this.maxEntries) {
      this.invalidatedAt.clear();
      this.forgetBefore = this.applied;
    }
  }

  /** The invalidation connection is lost: nothing local may be used until it is back and answering. */
  disconnected(): void {
    this.epoch += 1;
    this.listening = false;
    this.confirmedAt = Number.NEGATIVE_INFINITY;
    this.entries.clear();
    this.invalidatedAt.clear();
    this.applied += 1;
    this.forgetBefore = this.applied;
  }

  /** The connection of this epoch has subscribed (its SUBSCRIBE answered): pings sent from now on count. */
  subscribed(): void {
    this.listening = true;
  }

  /** A ping is being sent; undefined when pings do not count yet (not subscribed). */
  pingSent(): PingToken | undefined {
    return this.listening ? { epoch: this.epoch, sentAt: this.now() } : undefined;
  }

  /** Its answer arrived (after every message Redis sent before it). */
  pingAnswered(token: PingToken): void {
    if (token.epoch === this.epoch && token.sentAt > this.confirmedAt) this.confirmedAt = token.sentAt;
  }

  get size(): number {
    return this.entries.size;
  }
}
