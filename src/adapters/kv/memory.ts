import { EventEmitter } from 'node:events';
import type { Exchange, KeyValueStore, MessageHandler, WindowHit } from './kv-store.js';

interface Entry {
  value: string;
  expiresAt: number; // 0: never
}

/** One process's store: fine for the embedded mode, where there is one process. */
export class MemoryKeyValueStore implements KeyValueStore {
  readonly kind = 'memory' as const;
  private readonly entries = new Map<string, Entry>();
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

  private sweep(): void {
    const now = this.now();
    for (const [k, e] of this.entries) if (e.expiresAt && e.expiresAt <= now) this.entries.delete(k);
  }

  async get(key: string) {
    return this.live(key)?.value ?? null;
  }

  async getMany(keys: string[]) {
    return keys.map((k) => this.live(k)?.value ?? null);
  }

  async set(key: string, value: string, ttlMs?: number) {
    this.entries.set(key, { value, expiresAt: ttlMs ? this.now() + ttlMs : 0 });
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    if (this.live(key)) return false;
    this.entries.set(key, { value, expiresAt: this.now() + ttlMs });
    return true;
  }

  async take(key: string) {
    const e = this.live(key);
    this.entries.delete(key);
    return e?.value ?? null;
  }

  async del(...keys: string[]) {
    for (const k of keys) this.entries.delete(k);
  }

  async hit(key: string, windowMs: number): Promise<WindowHit> {
    return this.hitNow(key, windowMs);
  }

  async exchange(hits: readonly { key: string; windowMs: number }[], keys: readonly string[]): Promise<Exchange> {
    return { hits: hits.map((h) => this.hitNow(h.key, h.windowMs)), values: keys.map((k) => this.live(k)?.value ?? null) };
  }

  private hitNow(key: string, windowMs: number): WindowHit {
    const now = this.now();
    const e = this.live(key);
    if (!e) {
      this.entries.set(key, { value: '1', expiresAt: now + windowMs });
      return { count: 1, resetMs: windowMs };
    }
    const count = Number(e.value) + 1;
    e.value = String(count);
    return { count, resetMs: e.expiresAt - now };
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
  }
}
