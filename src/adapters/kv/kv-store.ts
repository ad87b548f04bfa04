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

export interface KeyValueStore {
  readonly kind: 'memory' | 'redis';
  get(key: string): Promise<string | null>;
  getMany(keys: readonly string[]): Promise<(string | null)[]>;
  set(key: string, value: string, ttlMs?: number): Promise<void>;
  /** set only when absent; true when this call set it */
  setIfAbsent(key: string, value: string, ttlMs: number): Promise<boolean>;
  /** read and delete in one step: what single-use tickets need */
  take(key: string): Promise<string | null>;
  del(...keys: string[]): Promise<void>;
  /** counts a hit in a fixed window that starts with the first hit (atomic) */
  hit(key: string, windowMs: number): Promise<WindowHit>;
  /** counts each hit (as `hit`) and reads each key, atomically and in one round trip */
  exchange(hits: readonly { key: string; windowMs: number }[], keys: readonly string[]): Promise<Exchange>;
  /** the same, answered at once, by a store in this process (memory); absent on Redis */
  exchangeNow?(hits: readonly { key: string; windowMs: number }[], keys: readonly string[]): Exchange;
  publish(channel: string, message: string): Promise<void>;
  /** returns an unsubscribe function */
  subscribe(channel: string, handler: MessageHandler): Promise<() => Promise<void>>;
  ping(): Promise<void>;
  close(): Promise<void>;
}
