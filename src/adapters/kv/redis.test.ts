import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deleteRedisKeys, TEST_REDIS_URL } from '../../../test/helpers/services.js';
import { RedisKeyValueStore } from './redis.js';

// Two stores on one real Redis, as two instances of Tessera would have them.
describe('Redis store: near cache and leased rate limits across two instances', () => {
  const prefix = `tessera-test-${randomUUID().slice(0, 8)}:`;
  const options = { url: TEST_REDIS_URL, keyPrefix: prefix, nearCache: { prefixes: ['rev:'], windowMs: 100 }, leasePercent: 1 };
  let a: RedisKeyValueStore;
  let b: RedisKeyValueStore;
  let raw: Redis;

  /** Until the store may use local copies (its first ping answered after subscribing). */
  async function untilLocal(store: RedisKeyValueStore, key: string): Promise<void> {
    for (let i = 0; i < 100; i++) {
      await store.getMany([key]);
      if (store.exchangeNow([], [key])) return;
      await sleep(10);
    }
    throw new Error('local copies were never used');
  }

  beforeAll(async () => {
    a = new RedisKeyValueStore(options);
    b = new RedisKeyValueStore(options);
    raw = new Redis(TEST_REDIS_URL);
    await Promise.all([a.connect(), b.connect()]);
  });
  afterAll(async () => {
    await deleteRedisKeys(TEST_REDIS_URL, prefix);
    raw.disconnect();
    await a?.close();
    await b?.close();
  });

  it('reads a near key locally (a change made behind its back is not seen), other keys from Redis', async () => {
    await untilLocal(b, 'rev:local');
    expect(b.exchangeNow([], ['rev:local'])).toEqual({ hits: [], values: [null] });
    await raw.set(`${prefix}rev:local`, 'behind its back');
    expect(b.exchangeNow([], ['rev:local'])!.values).toEqual([null]);
    expect(b.exchangeNow([], ['other:key'])).toBeNull();
  });

  it('a write answers only once no instance still has the old value: the next read anywhere sees it', async () => {
    for (let i = 0; i < 10; i++) {
      const key = `rev:s${i}`;
      await untilLocal(b, key);
      await untilLocal(a, key);
      if (i % 2 === 0) await a.set(key, 'revoked', 60_000);
      else {
        await raw.set(`${prefix}${key}`, 'old');
        await b.del(key); // b had "absent" locally; a had it too
        expect(await a.get(key)).toBeNull();
        continue;
      }
      const now = b.exchangeNow([], [key]);
      expect(now === null || now.values[0] === 'revoked').toBe(true);
      expect(await b.get(key)).toBe('revoked');
      expect(await a.get(key)).toBe('revoked');
    }
  });

  it('a fill answers at once, and other instances drop their copy', async () => {
    await untilLocal(b, 'rev:fill');
    const started = performance.now();
    await a.set('rev:fill', 'filled', 60_000, { wait: false });
    expect(performance.now() - started).toBeLessThan(100);
    for (let i = 0; i < 50 && b.exchangeNow([], ['rev:fill']); i++) await sleep(5);
    expect(await b.get('rev:fill')).toBe('filled');
  });

  it('an instance that keeps no copies (REDIS_NEAR_CACHE_MS=0) still announces its writes', async () => {
    const c = new RedisKeyValueStore({ ...options, nearCache: { ...options.nearCache, windowMs: 0 } });
    await c.connect();
    try {
      await untilLocal(b, 'rev:zero');
      expect(c.exchangeNow([], ['rev:zero'])).toBeNull(); // it reads Redis every time
      await c.set('rev:zero', 'revoked', 60_000);
      for (let i = 0; i < 50 && b.exchangeNow([], ['rev:zero']); i++) await sleep(5);
      expect(await b.get('rev:zero')).toBe('revoked');
    } finally {
      await c.close();
    }
  });

  it('when its invalidation connection is lost, a store drops its copies and reads Redis until it is back', async () => {
    await untilLocal(b, 'rev:lost');
    await raw.set(`${prefix}rev:lost`, 'changed');
    expect(b.exchangeNow([], ['rev:lost'])!.values).toEqual([null]);
    const list = (await raw.client('LIST')) as string;
    const ids = list
      .split('\n')
      .filter((line) => line.includes(` name=tessera-near:${prefix} `))
      .map((line) => /id=(\d+)/.exec(line)![1]!);
    expect(ids).toHaveLength(2);
    for (const id of ids) await raw.client('KILL', 'ID', id);
    for (let i = 0; i < 100 && b.exchangeNow([], ['rev:lost']); i++) await sleep(5);
    expect(b.exchangeNow([], ['rev:lost'])).toBeNull();
    expect(await b.get('rev:lost')).toBe('changed');
    await untilLocal(b, 'rev:lost'); // reconnected, resubscribed, pinging again
    expect(b.exchangeNow([], ['rev:lost'])!.values).toEqual(['changed']);
  });

  it('leased quota: a 1,000/minute limit over two instances admits at most 1,000, mostly without Redis', async () => {
    const hit = { key: 'rl:api:u:lease', windowMs: 60_000, limit: 1_000 };
    let admitted = 0;
    let local = 0;
    for (let i = 0; i < 1_200; i++) {
      const store = i % 3 === 0 ? a : b;
      const now = store.exchangeNow([hit], []);
      if (now) local += 1;
      const { count } = (now ?? (await store.exchange([hit], []))).hits[0]!;
      if (count <= 1_000) admitted += 1;
    }
    expect(admitted).toBeLessThanOrEqual(1_000);
    expect(admitted).toBeGreaterThanOrEqual(1_000 - 2 * 10); // at most one block per instance unused
    expect(local).toBeGreaterThan(1_000);
    expect(Number(await raw.get(`${prefix}rl:api:u:lease`))).toBeLessThanOrEqual(1_200);
  });

  it('a limit under 100 hits is counted in Redis hit by hit, exactly, across instances', async () => {
    const hit = { key: 'rl:login:ip:x', windowMs: 60_000, limit: 5 };
    const counts: number[] = [];
    for (let i = 0; i < 7; i++) {
      const store = i % 2 ? a : b;
      expect(store.exchangeNow([hit], [])).toBeNull();
      counts.push((await store.hit(hit.key, hit.windowMs, hit.limit)).count);
    }
    expect(counts).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
