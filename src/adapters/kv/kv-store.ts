/**
 * The key-value store behind rate limits, caches, revocation lists, single-use tickets and
 * pub/sub. In memory when embedded, Redis when REDIS_URL is set; nothing else asks which.
 */
export interface WindowHit {
  /** hits in the current window, this one included */
  count: number;
  /** milliseconds until the window resets */
  resetMs: number;
}

/** A request's whole use of the store in one round trip: its rate-limit hits and the reads it needs. */
export interface Exchange {
  hits: WindowHit[];
  values: (string | null)[];
}

export type MessageHandler = (message: string) => void;

/** How the store answered the request gate, for /metrics (Redis: near cache and leases). */
export interface KeyValueStats {
  /** exchanges answered without a round trip */
  exchangesLocal: number;
  /** exchanges that went to Redis */
  exchangesRemote: number;
  /** local copies held now */
  nearCopies: number;
  /** whether local copies may be used now (the invalidation channel is current) */
  nearCurrent: boolean;
}

/** One rate-limit hit as the store counts it: its key, window and (for leasing) the limit. */
export interface HitSpec {
  key: string;
  windowMs: number;
  /** the most hits the window allows; without it the hit is counted in the store one by one */
  limit?: number;
}

export interface SetOptions {
  /**
   * false: the write is announced but answers without waiting until every instance has dropped
   * its local copy (near-cached keys on Redis; see near-cache.ts) — for a cache fill (a value
   * any instance could derive from the database) and for a write made before the change it
   * guards. By default a write of such a key answers only once it is in force on every instance.
   */
  wait?: boolean;
}

export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs?: number, options?: SetOptions): Promise<void>;
  /** set only when absent; true when this call set it */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** read and delete in one step: what single-use tickets need */
  take(key: string): Promise<string | null>;
  del(...keys: string[]): Promise<void>;
  /** deletes the key only while it holds `value`, in one atomic step (a lease released by its holder only); true when deleted */
  delIfEquals(key: string, value: string): Promise<boolean>;
  /**
   * counts a hit in a fixed window that starts with the first hit (atomic); with `limit`, a
   * store shared by instances may lease quota in blocks (leases.ts)
   */
  hit(key: string, windowMs: number, limit?: number): Promise<WindowHit>;
  /** counts each hit (as `hit`) and reads each key, atomically and in one round trip (at most) */
  exchange(hits: readonly HitSpec[], keys: readonly string[]): Promise<Exchange>;
  /**
   * the same, answered at once when the store can do so without I/O: always in memory; on
   * Redis when leased quota and near-cached copies cover it (null otherwise: call `exchange`)
   */
  exchangeNow?(hits: readonly HitSpec[], keys: readonly string[]): Exchange | null;
  publish(channel: string, message: string): Promise<void>;
  /** returns an unsubscribe function */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  /** counters for /metrics; absent on the in-process store, where every exchange is local */
  stats?(): KeyValueStats;
  ping(): Promise<void>;
  close(): Promise<void>;
}
