import { EventEmitter } from 'node:events';
import type { Exchange, HitSpec, KeyValueStore, MessageHandler, WindowHit } from './kv-store.js';

interface Entry {
  value: string;
  expiresAt: number; // 0: never
}

/** A rate-limit window: its count kept as a number (read as text, as Redis would answer). */
interface Window {
  count: number;
  expiresAt: number;
}

/** One process's store: fine for the embedded mode, where there is one process. */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly windows = new Map<string, Window>();
  private readonly bus = new EventEmitter().setMaxListeners(0);
  private readonly sweeper: NodeJS.Timeout;

  constructor(private readonly now: () => number = Date.now) {
    this.sweeper = setInterval(() => this.sweep(), 30_000);
    this.sweeper.unref();
  }

  private live(key: string): Entry | undefined {
    const e = this.entries.get(key);
    if (!e) return undefined;
    if (e.expiresAt && e.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return e;
  }

  private liveWindow(key: string, now: number): Window | undefined {
    const w = this.windows.get(key);
    if (w && w.expiresAt <= now) {
      this.windows.delete(key);
      return undefined;
    }
    return w;
  }

  private read(key: string): string | null {
    const e = this.live(key);
    if (e) return e.value;
    const w = this.windows.size ? this.liveWindow(key, this.now()) : undefined;
    return w ? String(w.count) : null;
  }

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt && e.expiresAt <= now) this.entries.delete(k);
    for (const [k, w] of this.windows) if (w.expiresAt <= now) this.windows.delete(k);
  }

  async get(key: string) {
    return this.read(key);
  }

  async getMany(keys: readonly string[]) {
    return keys.map((k) => this.read(k));
  }

  async set(key: string, value: string, ttlMs?: number) {
    this.windows.delete(key);
    this.entries.set(key, { value, expiresAt: ttlMs ? this.now() + ttlMs : 0 });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.read(key) !== null) return false;
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async take(key: string) {
    const value = this.read(key);
    this.entries.delete(key);
    this.windows.delete(key);
    return value;
  }

  async delIfEquals(key: string, value: string) {
    if (this.read(key) !== value) return false;
    this.entries.delete(key);
    return true;
  }

  async del(...keys: string[]) {
    for (const k of keys) {
      this.entries.delete(k);
      this.windows.delete(k);
    }
  }

  async hit(key: string, windowMs: number): Promise<WindowHit> {
    return this.hitNow(key, windowMs);
  }

  async exchange(hits: readonly HitSpec[], keys: readonly string[]): Promise<Exchange> {
    return this.exchangeNow(hits, keys);
  }

  /** `exchange` without a promise: this store is in the process. */
  exchangeNow(hits: readonly HitSpec[], keys: readonly string[]): Exchange {
    const counted: WindowHit[] = [];
    for (const h of hits) counted.push(this.hitNow(h.key, h.windowMs));
    const values: (string | null)[] = [];
    for (const k of keys) values.push(this.read(k));
    return { hits: counted, values };
  }

  private hitNow(key: string, windowMs: number): WindowHit {
    const now = this.now();
    const w = this.liveWindow(key, now);
    if (!w) {
      // A plain entry under the same key (never written by rate limits) is replaced, as INCR
      // on a non-number would fail in Redis: counting wins.
      this.entries.delete(key);
      this.windows.set(key, { count: 1, expiresAt: now + windowMs });
      return { count: 1, resetMs: windowMs };
    }
    w.count += 1;
    return { count: w.count, resetMs: w.expiresAt - now };
  }

  async publish(channel: string, message: string) {
    // Delivered on a later tick, as Redis would, so publishers never re-enter their own handlers.
    setImmediate(() => this.bus.emit(channel, message));
  }

  async subscribe(channel: string, handler: MessageHandler) {
    this.bus.on(channel, handler);
    return async () => {
      this.bus.off(channel, handler);
    };
  }

  async ping() {}

  async close() {
    clearInterval(this.sweeper);
    this.bus.removeAllListeners();
    this.entries.clear();
    this.windows.clear();
  }
}
