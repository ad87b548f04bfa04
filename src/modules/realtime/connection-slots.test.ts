import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MemoryKeyValueStore } from '../../adapters/kv/memory.js';
import { ConnectionSlots } from './connection-slots.js';

describe('per-user connection slots', () => {
  const kv = new MemoryKeyValueStore();
  afterEach(() => kv.del(...Array.from({ length: 5 }, (_, i) => `ws-slot:u1:${i}`)));
  afterAll(() => kv.close());

  it('hands out at most `max` slots per user, even to concurrent callers, and a released one is free again', async () => {
    const slots = new ConnectionSlots(kv, 3, 60_000);
    const taken = await Promise.all(Array.from({ length: 6 }, () => slots.acquire('u1')));
    const granted = taken.filter((s) => s !== null);
    expect(granted).toHaveLength(3);
    expect(new Set(granted.map((s) => s!.key)).size).toBe(3);
    expect(await slots.acquire('u2')).not.toBeNull(); // per user
    await slots.release(granted[0]!);
    expect(await slots.acquire('u1')).not.toBeNull();
    expect(await slots.acquire('u1')).toBeNull();
  });

  it('a lapsed slot is taken back on refresh when still free; releasing someone else’s slot does nothing', async () => {
    const slots = new ConnectionSlots(kv, 1, 60_000);
    const mine = (await slots.acquire('u1'))!;
    await kv.del(mine.key); // as if it expired while the store was away
    await slots.refresh([mine]);
    expect(await kv.get(mine.key)).toBe(mine.holder);
    await slots.release({ key: mine.key, holder: 'someone-else' });
    expect(await kv.get(mine.key)).toBe(mine.holder);
  });
});
