import { afterEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from './memory.js';

describe('memory key-value store: rate-limit windows', () => {
  let now = 1_000_000;
  const kv = new MemoryKeyValueStore(() => now);
  afterEach(() => kv.del('w', 'x'));

  it('counts hits in a window that starts with the first hit, then starts again', async () => {
    expect(await kv.hit('w', 60_000)).toEqual({ count: 1, resetMs: 60_000 });
    now += 10_000;
    expect(await kv.hit('w', 60_000)).toEqual({ count: 2, resetMs: 50_000 });
    now += 50_000;
    expect(await kv.hit('w', 60_000)).toEqual({ count: 1, resetMs: 60_000 });
  });

  it('a window reads as its count, as Redis answers, and goes with del, take and set', async () => {
    await kv.hit('w', 60_000);
    await kv.hit('w', 60_000);
    expect(await kv.get('w')).toBe('2');
    expect(await kv.getMany(['w', 'x'])).toEqual(['2', null]);
    await kv.del('w');
    expect(await kv.get('w')).toBeNull();
    await kv.hit('w', 60_000);
    expect(await kv.take('w')).toBe('1');
    expect((await kv.hit('w', 60_000)).count).toBe(1);
    await kv.set('w', 'text');
    expect(await kv.get('w')).toBe('text');
    expect(await kv.setIfAbsent('w', 'other', 1_000)).toBe(false);
  });

  it('exchangeNow answers what exchange answers, at once', async () => {
    await kv.set('x', 'value', 60_000);
    const now1 = kv.exchangeNow([{ key: 'w', windowMs: 60_000 }], ['x', 'missing']);
    const later = await kv.exchange([{ key: 'w', windowMs: 60_000 }], ['x', 'missing']);
    expect(now1).toEqual({ hits: [{ count: 1, resetMs: 60_000 }], values: ['value', null] });
    expect(later).toEqual({ hits: [{ count: 2, resetMs: 60_000 }], values: ['value', null] });
  });

  it('expired windows are swept, not kept', async () => {
    await kv.hit('w', 1_000);
    now += 2_000;
    expect(await kv.get('w')).toBeNull();
  });
});
