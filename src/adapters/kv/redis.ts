import { Redis } from 'ioredis';
import type { Exchange, KeyValueStore, MessageHandler, WindowHit } from './kv-store.js';

// Rate-limit hits and reads in one script, one round trip, atomically on every instance: each
// hit is INCR, and a window that starts with its first hit (PEXPIRE). KEYS = the hit keys, then
// the keys to read; ARGV = the number of hits, then each hit's window.
const EXCHANGE_SCRIPT = `
local hits = tonumber(ARGV[1])
local out = {}
for i = 1, hits do
  local window = tonumber(ARGV[i + 1])
  local count = redis.call('INCR', KEYS[i])
  if count == 1 then redis.call('PEXPIRE', KEYS[i], window) end
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[i], window); ttl = window end
  out[#out + 1] = count
  out[#out + 1] = ttl
end
for i = hits + 1, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i])
end
return out
`;

type RedisWithScripts = Redis & {
  tesseraExchange(numKeys: number, ...args: (string | number)[]): Promise<(number | string | null)[]>;
};

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  /** a command waits at most this long; a store that cannot answer must fail fast, not hang */
  commandTimeoutMs?: number;
}

export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  private readonly client: RedisWithScripts;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<MessageHandler>>();

  constructor(private readonly options: RedisStoreOptions) {
    this.client = new Redis(options.url, this.connectionOptions()) as RedisWithScripts;
    // Key count varies per call: given as the first argument.
    this.client.defineCommand('tesseraExchange', { lua: EXCHANGE_SCRIPT });
    this.client.on('error', () => undefined); // reconnects by itself; readiness reports it
  }

  private connectionOptions() {
    return {
      keyPrefix: this.options.keyPrefix,
      lazyConnect: true,
      // Commands issued in the same tick (many requests at once) share one write and one read.
      enableAutoPipelining: true,
      // Fail commands at once while disconnected instead of queueing them: callers answer 503.
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: this.options.commandTimeoutMs ?? 2_000,
      connectTimeout: 3_000,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000),
    };
  }

  async connect(): Promise<void> {
    await this.client.connect();
  }


  async get(key: string) {
    return this.client.get(key);
  }

  async getMany(keys: readonly string[]) {
    if (keys.length === 0) return [];
    return this.client.mget(...keys);
  }

  async set(key: string, value: string, ttlMs?: number) {
    if (ttlMs) await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)));
    else await this.client.set(key, value);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    const r = await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    return r === 'OK';
  }

  async take(key: string) {
    return this.client.getdel(key);
  }

  async del(...keys: string[]) {
    if (keys.length) await this.client.del(...keys);
  }

  async hit(key: string, windowMs: number): Promise<WindowHit> {
    return (await this.exchange([{ key, windowMs }], [])).hits[0]!;
  }

  async exchange(hits: readonly { key: string; windowMs: number }[], keys: readonly string[]): Promise<Exchange> {
    if (hits.length === 0) return { hits: [], values: keys.length ? await this.client.mget(...keys) : [] };
    const args: (string | number)[] = [];
    for (const h of hits) args.push(h.key);
    for (const k of keys) args.push(k);
    args.push(hits.length);
    for (const h of hits) args.push(Math.ceil(h.windowMs));
    const out = await this.client.tesseraExchange(hits.length + keys.length, ...args);
    const windowHits: WindowHit[] = [];
    for (let i = 0; i < hits.length; i++) windowHits.push({ count: Number(out[2 * i]), resetMs: Number(out[2 * i + 1]) });
    const values: (string | null)[] = [];
    for (let i = 0; i < keys.length; i++) values.push((out[2 * hits.length + i] as string | null | undefined) ?? null);
    return { hits: windowHits, values };
  }

  async publish(channel: string, message: string) {
    await this.client.publish(this.options.keyPrefix + channel, message);
  }

  async subscribe(channel: string, handler: MessageHandler) {
    const full = this.options.keyPrefix + channel;
    if (!this.subscriber) {
      // A subscribed connection can do nothing else, so pub/sub gets its own, which
      // resubscribes by itself after a reconnect (ioredis autoResubscribe).
      this.subscriber = new Redis(this.options.url, { lazyConnect: true, retryStrategy: (t: number) => Math.min(100 * 2 ** t, 2_000) });
      this.subscriber.on('error', () => undefined);
      this.subscriber.on('message', (ch: string, msg: string) => {
        for (const h of this.handlers.get(ch) ?? []) h(msg);
      });
      await this.subscriber.connect();
    }
    let set = this.handlers.get(full);
    if (!set) {
      set = new Set();
      this.handlers.set(full, set);
      await this.subscriber.subscribe(full);
    }
    set.add(handler);
    return async () => {
      const s = this.handlers.get(full);
      s?.delete(handler);
      if (s && s.size === 0) {
        this.handlers.delete(full);
        await this.subscriber?.unsubscribe(full).catch(() => undefined);
      }
    };
  }

  async ping() {
    await this.client.ping();
  }

  async close() {
    this.client.disconnect();
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.handlers.clear();
  }
}
