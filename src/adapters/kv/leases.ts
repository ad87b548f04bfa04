import { performance } from 'node:perf_hooks';
import type { HitSpec, WindowHit } from './kv-store.js';

interface Lease {
  /** hits granted to this instance and not used yet */
  remaining: number;
  /** the window's count in Redis as of the newest grant */
  seen: number;
  /** when the window ends (local clock) */
  endsAt: number;
}

/**
 * Rate-limit quotas leased from Redis in blocks, so a busy caller's hits cost a Redis round
 * trip once per block rather than once per request.
 *
 * A grant is atomic in Redis (the exchange script): it adds the block to the window's shared
 * count, never past the limit, and this instance then admits that many hits locally. So a
 * limit is never exceeded across instances; the price is that hits granted to one instance
 * and not used there before the window ends still count, so a caller spread over several
 * instances may be refused up to one block per instance early. A block is `percent` % of the
 * limit; a limit that would get blocks of one hit (under 100 / percent) is counted hit by hit,
 * as before. Windows are fixed (they start at their first hit), so once the shared count has
 * reached the limit every further hit in that window is refused, here without asking Redis.
 */
export class Leases {
  private readonly leases = new Map<string, Lease>();

  constructor(
    private readonly percent: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** How many hits to ask for at once (1: no lease, count this hit in Redis). */
  blockFor(hit: HitSpec): number {
    if (this.percent <= 0 || hit.limit === undefined) return 1;
    return Math.max(1, Math.floor((hit.limit * this.percent) / 100));
  }

  /** Whether `take` can answer this hit without Redis. */
  canTake(hit: HitSpec, at = this.now()): boolean {
    const lease = this.leases.get(hit.key);
    if (lease === undefined) return false;
    if (lease.endsAt <= at) {
      this.leases.delete(hit.key);
      return false;
    }
    return lease.remaining > 0 || lease.seen >= hit.limit!;
  }

  /** Counts a hit locally; only after `canTake` said yes. */
  take(hit: HitSpec, at = this.now()): WindowHit {
    const lease = this.leases.get(hit.key)!;
    const resetMs = lease.endsAt - at;
    if (lease.remaining > 0) {
      const count = lease.seen - lease.remaining + 1;
      lease.remaining -= 1;
      return { count, resetMs };
    }
    // The window is full everywhere: refused here, as Redis would refuse it.
    lease.seen += 1;
    return { count: lease.seen, resetMs };
  }

  /** Redis granted `granted` hits (the window's count is now `count`); this hit takes the first. */
  granted(hit: HitSpec, count: number, resetMs: number, granted: number, at = this.now()): WindowHit {
    if (granted <= 1 && this.blockFor(hit) <= 1) return { count, resetMs };
    let lease = this.leases.get(hit.key);
    if (lease === undefined || lease.endsAt <= at) {
      lease = { remaining: 0, seen: 0, endsAt: at + resetMs };
      this.leases.set(hit.key, lease);
    }
    lease.remaining += granted;
    lease.seen = Math.max(lease.seen, count);
    return this.take(hit, at);
  }

  /** Drops expired leases (called now and then). */
  sweep(at = this.now()): void {
    for (const [key, lease] of this.leases) if (lease.endsAt <= at) this.leases.delete(key);
  }
}
