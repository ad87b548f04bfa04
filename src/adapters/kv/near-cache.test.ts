import { describe, expect, it } from 'vitest';
import { Leases } from './leases.js';
import { NearCache } from './near-cache.js';

describe('near cache: when a local copy may be used', () => {
  const setup = () => {
    const clock = { now: 1_000 };
    const near = new NearCache({ prefixes: ['revoked:', 'user:'], windowMs: 100, entryTtlMs: 5_000 }, () => clock.now);
    /** a ping sent now and answered */
    const confirm = () => {
      const token = near.pingSent();
      if (token) near.pingAnswered(token);
    };
    return { clock, near, confirm };
  };

  it('covers only its prefixes', () => {
    const { near } = setup();
    expect(near.covers('revoked:s1')).toBe(true);
    expect(near.covers('rl:api:u:1')).toBe(false);
  });

  it('is used only while the newest answered ping was sent less than W ago, and only once subscribed', () => {
    const { clock, near, confirm } = setup();
    confirm(); // not subscribed yet: the ping does not count
    near.keep('user:1', 'v', near.mark());
    expect(near.read('user:1')).toBeUndefined();
    near.subscribed();
    confirm();
    expect(near.read('user:1')).toBe('v');
    clock.now += 99;
    expect(near.read('user:1')).toBe('v');
    clock.now += 1;
    expect(near.read('user:1')).toBeUndefined(); // W passed without an answered ping
    confirm();
    expect(near.read('user:1')).toBe('v');
  });

  it('an answer to a ping sent before the connection was lost does not count', () => {
    const { near } = setup();
    near.subscribed();
    const before = near.pingSent()!;
    near.disconnected();
    near.subscribed();
    near.pingAnswered(before);
    near.keep('user:1', 'v', near.mark());
    expect(near.trusted()).toBe(false);
    expect(near.read('user:1')).toBeUndefined();
  });

  it('a lost connection drops every copy and every fetch in flight', () => {
    const { near, confirm } = setup();
    near.subscribed();
    confirm();
    near.keep('user:1', 'v', near.mark());
    const inFlight = near.mark();
    near.disconnected();
    near.subscribed();
    confirm();
    expect(near.read('user:1')).toBeUndefined();
    near.keep('user:2', 'w', inFlight); // fetched before the loss: may predate a lost invalidation
    expect(near.read('user:2')).toBeUndefined();
    near.keep('user:2', 'w', near.mark());
    expect(near.read('user:2')).toBe('w');
  });

  it('a fetch that an invalidation of its key overtook is not kept; others are', () => {
    const { near, confirm } = setup();
    near.subscribed();
    confirm();
    const mark = near.mark();
    near.invalidate(['revoked:s1']);
    near.keep('revoked:s1', null, mark); // the old "not revoked", read before the write
    near.keep('user:1', 'v', mark);
    expect(near.read('revoked:s1')).toBeUndefined();
    expect(near.read('user:1')).toBe('v');
  });

  it('copies expire, absent values included, and the oldest go first when full', () => {
    const clock = { now: 0 };
    const near = new NearCache({ prefixes: ['k'], windowMs: 1_000_000, entryTtlMs: 50, maxEntries: 2 }, () => clock.now);
    near.subscribed();
    near.pingAnswered(near.pingSent()!);
    near.keep('k1', null, near.mark());
    near.keep('k2', 'b', near.mark());
    near.keep('k3', 'c', near.mark());
    expect(near.read('k1')).toBeUndefined();
    expect(near.read('k2')).toBe('b');
    clock.now += 50;
    expect(near.read('k2')).toBeUndefined();
    expect(near.size).toBe(1);
  });
});

describe('rate-limit leases', () => {
  it('a limit under 100 / percent is counted hit by hit (no lease is kept)', () => {
    const leases = new Leases(1, () => 0);
    const hit = { key: 'rl:login:ip:1', windowMs: 60_000, limit: 5 };
    expect(leases.blockFor(hit)).toBe(1);
    expect(leases.granted(hit, 6, 30_000, 1)).toEqual({ count: 6, resetMs: 30_000 });
    expect(leases.canTake(hit)).toBe(false);
  });

  it('admits a granted block locally, then refuses locally once the shared count reached the limit', () => {
    const clock = { now: 0 };
    const leases = new Leases(1, () => clock.now);
    const hit = { key: 'rl:api:u:1', windowMs: 60_000, limit: 1_000 };
    expect(leases.blockFor(hit)).toBe(10);
    // Redis granted hits 991..1000 (the last block under the limit).
    expect(leases.granted(hit, 1_000, 60_000, 10)).toEqual({ count: 991, resetMs: 60_000 });
    const counts: number[] = [];
    for (let i = 0; i < 9; i++) {
      expect(leases.canTake(hit)).toBe(true);
      counts.push(leases.take(hit).count);
    }
    expect(counts).toEqual([992, 993, 994, 995, 996, 997, 998, 999, 1_000]);
    clock.now += 1_000;
    expect(leases.canTake(hit)).toBe(true); // full everywhere: refused without asking
    expect(leases.take(hit)).toEqual({ count: 1_001, resetMs: 59_000 });
    clock.now += 59_000; // the window is over: ask Redis again
    expect(leases.canTake(hit)).toBe(false);
  });

  it('asks again when its block is used up below the limit', () => {
    const leases = new Leases(1, () => 0);
    const hit = { key: 'rl:api:u:2', windowMs: 60_000, limit: 1_000 };
    leases.granted(hit, 10, 60_000, 10);
    for (let i = 0; i < 9; i++) leases.take(hit);
    expect(leases.canTake(hit)).toBe(false);
  });

  it('0 % leases nothing', () => {
    expect(new Leases(0).blockFor({ key: 'k', windowMs: 1, limit: 1_000_000 })).toBe(1);
  });
});
