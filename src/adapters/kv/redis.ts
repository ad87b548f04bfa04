import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import type { Exchange, HitSpec, KeyValueStats, KeyValueStore, MessageHandler, SetOptions, WindowHit } from './kv-store.js';
import { Leases } from './leases.js';
import { coversKey, NearCache } from './near-cache.js';

// Rate-limit hits and reads in one script, one round trip, atomically on every instance. Each
// hit adds its grant (one hit, or a leased block that never takes the count past the limit;
// see leases.ts) to a window that starts with its first hit (PEXPIRE). KEYS = the hit keys,
// then the keys to read; ARGV = the number of hits, then per hit its window, block and limit.
const EXCHANGE_SCRIPT = `
local hits = tonumber(ARGV[1])
local out = {}
for i = 1, hits do
  local window = tonumber(ARGV[3 * i - 1])
  local block = tonumber(ARGV[3 * i])
  local limit = tonumber(ARGV[3 * i + 1])
  local grant = 1
  if block > 1 then
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    if current < limit then grant = math.min(block, limit - current) end
  end
  local count = redis.call('INCRBY', KEYS[i], grant)
  if count == grant then redis.call('PEXPIRE', KEYS[i], window) end
  local ttl = redis.call('PTTL', KEYS[i])
  if ttl < 0 then redis.call('PEXPIRE', KEYS[i], window); ttl = window end
  out[#out + 1] = count
  out[#out + 1] = ttl
  out[#out + 1] = grant
end
for i = hits + 1, #KEYS do
  out[#out + 1] = redis.call('GET', KEYS[i])
end
return out
`;

// A near-cached key's write and its invalidation, atomically (no write goes unannounced).
// KEYS[1] = the key; ARGV = the channel, the key as announced (unprefixed), the value, PX (0: none).
const NEAR_SET_SCRIPT = `
if tonumber(ARGV[4]) > 0 then redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4]) else redis.call('SET', KEYS[1], ARGV[3]) end
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;
// KEYS = the keys; ARGV = the channel, the keys as announced (unprefixed, one per line).
const NEAR_DEL_SCRIPT = `
redis.call('DEL', unpack(KEYS))
redis.call('PUBLISH', ARGV[1], ARGV[2])
return 1
`;

// KEYS[1] = the key; ARGV[1] = the value it must hold to be deleted.
const DEL_IF_EQUALS_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
`;

type RedisWithScripts = Redis & {
  tesseraExchange(numKeys: number, ...args: (string | number)[]): Promise<(number | string | null)[]>;
  tesseraNearSet(key: string, channel: string, announced: string, value: string, px: number): Promise<number>;
  tesseraNearDel(numKeys: number, ...args: string[]): Promise<number>;
  tesseraDelIfEquals(key: string, value: string): Promise<number>;
};

export interface RedisStoreOptions {
  url: string;
  keyPrefix: string;
  /** a command waits at most this long; a store that cannot answer must fail fast, not hang */
  commandTimeoutMs?: number;
  /** keys read from local copies kept exact by pushed invalidations (near-cache.ts); absent: every read goes to Redis */
  nearCache?: { prefixes: readonly string[]; windowMs: number };
  /** rate-limit quota leased in blocks of this % of the limit (leases.ts); 0 or absent: hit by hit */
  leasePercent?: number;
}

const INVALIDATIONS = 'kv:invalidate';

export class RedisKeyValueStore implements KeyValueStore {
  readonly kind = 'redis' as const;
  private readonly client: RedisWithScripts;
  private subscriber: Redis | null = null;
  private readonly handlers = new Map<string, Set<MessageHandler>>();
  private readonly near: NearCache | null;
  /** near-cached key prefixes: their writes are announced even when this instance keeps no copies */
  private readonly announcedPrefixes: readonly string[];
  private readonly leases: Leases;
  /** the invalidation channel's own connection (so it is never blocked behind realtime traffic) */
  private nearListener: Redis | null = null;
  private readonly timers: NodeJS.Timeout[] = [];
  private exchangesLocal = 0;
  private exchangesRemote = 0;

  constructor(private readonly options: RedisStoreOptions) {
    this.client = new Redis(options.url, this.connectionOptions()) as RedisWithScripts;
    // Key count varies per call: given as the first argument.
    this.client.defineCommand('tesseraExchange', { lua: EXCHANGE_SCRIPT });
    this.client.defineCommand('tesseraNearSet', { lua: NEAR_SET_SCRIPT, numberOfKeys: 1 });
    this.client.defineCommand('tesseraNearDel', { lua: NEAR_DEL_SCRIPT });
    this.client.defineCommand('tesseraDelIfEquals', { lua: DEL_IF_EQUALS_SCRIPT, numberOfKeys: 1 });
    this.client.on('error', () => undefined); // reconnects by itself; readiness reports it
    const near = options.nearCache;
    this.near = near && near.windowMs > 0 ? new NearCache(near) : null;
    this.announcedPrefixes = near?.prefixes ?? [];
    this.leases = new Leases(options.leasePercent ?? 0);
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
    const sweep = setInterval(() => this.leases.sweep(), 60_000);
    sweep.unref();
    this.timers.push(sweep);
    if (this.near) await this.listen(this.near);
  }

  /**
   * The invalidation channel: subscribed on a connection of its own (resubscribed by hand
   * after a reconnect, so pings count only once the subscription is back), pinged every W/5.
   */
  private async listen(near: NearCache): Promise<void> {
    const channel = this.options.keyPrefix + INVALIDATIONS;
    const listener = new Redis(this.options.url, {
      connectionName: `tessera-near:${this.options.keyPrefix}`,
      lazyConnect: true,
      autoResubscribe: false,
      autoResendUnfulfilledCommands: false,
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      commandTimeout: 2_000,
      connectTimeout: 3_000,
      retryStrategy: (times: number) => Math.min(100 * 2 ** times, 2_000),
    });
    this.nearListener = listener;
    const ping = () => {
      if (listener.status !== 'ready') return;
      const token = near.pingSent();
      if (token) listener.ping().then(() => near.pingAnswered(token), () => undefined);
    };
    listener.on('error', () => undefined);
    listener.on('message', (ch: string, message: string) => {
      if (ch === channel) near.invalidate(message.split('\n'));
    });
    listener.on('close', () => near.disconnected());
    listener.on('ready', () => {
      listener.subscribe(channel).then(
        () => {
          near.subscribed();
          ping();
        },
        () => undefined, // the connection failed again: its close starts over
      );
    });
    const pinger = setInterval(ping, Math.max(5, Math.floor(near.windowMs / 5)));
    pinger.unref();
    this.timers.push(pinger);
    await listener.connect();
  }

  /** The values of `keys` from local copies, or null when one of them has none that may be used. */
  private localValues(keys: readonly string[], at = performance.now()): (string | null)[] | null {
    const near = this.near;
    if (!near) return null;
    const out: (string | null)[] = [];
    for (const key of keys) {
      if (!near.covers(key)) return null;
      const v = near.read(key, at);
      if (v === undefined) return null;
      out.push(v);
    }
    return out;
  }

  private keepAll(keys: readonly string[], values: readonly (string | null)[], mark: number): void {
    const near = this.near;
    if (!near) return;
    for (let i = 0; i < keys.length; i++) if (near.covers(keys[i]!)) near.keep(keys[i]!, values[i] ?? null, mark);
  }

  /**
   * Whether writes of this key are announced on the invalidation channel: near-cached keys,
   * also with REDIS_NEAR_CACHE_MS=0 here, so an instance that keeps copies learns of them.
   */
  private announces(key: string): boolean {
    return coversKey(this.announcedPrefixes, key);
  }

  /** After a write of near keys: drop the local copies, and (unless told not to) wait until every instance has. */
  private async announced(keys: readonly string[], wait = true): Promise<void> {
    if (!this.near) return;
    this.near.invalidate(keys);
    if (wait) await sleep(this.near.windowMs);
  }

  private nearKeys(keys: readonly string[]): string[] {
    return this.announcedPrefixes.length ? keys.filter((k) => this.announces(k)) : [];
  }

  async get(key: string) {
    return (await this.getMany([key]))[0] ?? null;
  }

  async getMany(keys: readonly string[]) {
    if (keys.length === 0) return [];
    return this.localValues(keys) ?? this.fetch(keys);
  }

  /** Reads keys from Redis, keeping copies of the near ones (unless an invalidation overtook the read). */
  private async fetch(keys: readonly string[]): Promise<(string | null)[]> {
    const mark = this.near?.mark() ?? 0;
    const values = await this.client.mget(...keys);
    this.keepAll(keys, values, mark);
    return values;
  }

  async set(key: string, value: string, ttlMs?: number, options?: SetOptions) {
    const px = ttlMs ? Math.max(1, Math.ceil(ttlMs)) : 0;
    if (this.announces(key)) {
      await this.client.tesseraNearSet(key, this.options.keyPrefix + INVALIDATIONS, key, value, px);
      return this.announced([key], options?.wait ?? true);
    }
    if (px) await this.client.set(key, value, 'PX', px);
    else await this.client.set(key, value);
  }

  async setIfAbsent(key: string, value: string, ttlMs: number) {
    const r = await this.client.set(key, value, 'PX', Math.max(1, Math.ceil(ttlMs)), 'NX');
    if (r === 'OK' && this.announces(key)) await this.announce([key]);
    return r === 'OK';
  }

  async take(key: string) {
    const value = await this.client.getdel(key);
    if (this.announces(key)) await this.announce([key]);
    return value;
  }

  async del(...keys: string[]) {
    const near = this.nearKeys(keys);
    const rest = near.length ? keys.filter((k) => !near.includes(k)) : keys;
    if (rest.length) await this.client.del(...rest);
    if (near.length) {
      await this.client.tesseraNearDel(near.length, ...near, this.options.keyPrefix + INVALIDATIONS, near.join('\n'));
      await this.announced(near);
    }
  }

  async delIfEquals(key: string, value: string) {
    const deleted = (await this.client.tesseraDelIfEquals(key, value)) === 1;
    if (deleted && this.announces(key)) await this.announce([key]);
    return deleted;
  }

  /** Announces a change written by a command that cannot announce it itself. */
  private async announce(keys: readonly string[]): Promise<void> {
    await this.client.publish(this.options.keyPrefix + INVALIDATIONS, keys.join('\n'));
    await this.announced(keys);
  }

  async hit(key: string, windowMs: number, limit?: number): Promise<WindowHit> {
    return (await this.exchange([{ key, windowMs, limit }], [])).hits[0]!;
  }

  /** Answers from leased quota and local copies when they cover everything; null otherwise. */
  exchangeNow(hits: readonly HitSpec[], keys: readonly string[]): Exchange | null {
    const at = performance.now();
    for (const h of hits) if (!this.leases.canTake(h, at)) return null;
    let values: (string | null)[] = [];
    if (keys.length) {
      const local = this.localValues(keys, at);
      if (!local) return null;
      values = local;
    }
    const counted: WindowHit[] = [];
    for (const h of hits) counted.push(this.leases.take(h, at));
    this.exchangesLocal++;
    return { hits: counted, values };
  }

  stats(): KeyValueStats {
    return { exchangesLocal: this.exchangesLocal, exchangesRemote: this.exchangesRemote, nearCopies: this.near?.size ?? 0, nearCurrent: this.near?.trusted() ?? false };
  }

  async exchange(hits: readonly HitSpec[], keys: readonly string[]): Promise<Exchange> {
    const at = performance.now();
    const counted: WindowHit[] = new Array<WindowHit>(hits.length);
    const remote: number[] = [];
    for (let i = 0; i < hits.length; i++) {
      if (this.leases.canTake(hits[i]!, at)) counted[i] = this.leases.take(hits[i]!, at);
      else remote.push(i);
    }
    const local = keys.length ? this.localValues(keys, at) : [];
    if (remote.length === 0 && local) {
      this.exchangesLocal++;
      return { hits: counted, values: local };
    }
    this.exchangesRemote++;
    if (remote.length === 0) return { hits: counted, values: await this.fetch(keys) };
    const read = local ? [] : keys;
    const mark = this.near?.mark() ?? 0;
    const args: (string | number)[] = [];
    for (const i of remote) args.push(hits[i]!.key);
    for (const k of read) args.push(k);
    args.push(remote.length);
    for (const i of remote) {
      const h = hits[i]!;
      args.push(Math.ceil(h.windowMs), this.leases.blockFor(h), h.limit ?? 0);
    }
    const out = await this.client.tesseraExchange(remote.length + read.length, ...args);
    const after = performance.now();
    remote.forEach((hitIndex, j) => {
      counted[hitIndex] = this.leases.granted(hits[hitIndex]!, Number(out[3 * j]), Number(out[3 * j + 1]), Number(out[3 * j + 2]), after);
    });
    if (local) return { hits: counted, values: local };
    const values: (string | null)[] = [];
    const offset = 3 * remote.length;
    for (let i = 0; i < read.length; i++) values.push((out[offset + i] as string | null | undefined) ?? null);
    this.keepAll(read, values, mark);
    return { hits: counted, values };
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
    for (const t of this.timers) clearInterval(t);
    this.client.disconnect();
    this.subscriber?.disconnect();
    this.subscriber = null;
    this.nearListener?.disconnect();
    this.nearListener = null;
    this.handlers.clear();
  }
}
