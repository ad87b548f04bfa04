import { Redis } from 'ioredis';
import type { KeyValueStore, MessageHandler, WindowHit } from './kv-store.js';

// INCR and PEXPIRE in one script: the window starts with its first hit, atomically on every instance.
const HIT_SCRIPT = `
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then redis.call('PEXPIRE', KEYS[1], ARGV[1]); ttl = tonumber(ARGV[1]) end
return {count, ttl}
`;

type RedisWithHit = Redis & { tesseraHit(key: string, windowMs: number): Promise<[number, number]> };

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  /** a command waits at most this long; a store that cannot answer must fail fast, not hang */
  commandTimeoutMs?: number;
}

export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  private readonly client: RedisWithHit;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<MessageHandler>>();

  constructor(private readonly options: RedisStoreOptions) {
    this.client = new Redis(options.url, this.connectionOptions()) as RedisWithHit;
    this.client.defineCommand('tesseraHit', { numberOfKeys: 1, lua: HIT_SCRIPT });
    this.client.on('error', () => undefined); // reconnects by itself; readiness reports it
  }

  private connectionOptions() {
    return {
      keyPrefix: this.options.keyPrefix,
      lazyConnect: true,
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

  async getMany(keys: string[]) {
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
    const [count, resetMs] = await this.client.tesseraHit(key, Math.ceil(windowMs));
    return { count: Number(count), resetMs: Number(resetMs) };
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
