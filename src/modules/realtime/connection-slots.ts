import { randomUUID } from 'node:crypto';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';

/** One of a user's WS_MAX_CONNECTIONS_PER_USER places, held by one socket. */
export interface ConnectionSlot {
  key: string;
  holder: string;
}

const slotKey = (userId: string, index: number) => `ws-slot:${userId}:${index}`;

/**
 * The per-user connection cap, counted across every instance: a user has `max` numbered slots
 * in the shared key-value store, each taken with set-if-absent by one socket. A slot expires
 * unless its holder refreshes it (every heartbeat), so the slots of an instance that died
 * come free again after `ttlMs` instead of locking the user out.
 */
export class ConnectionSlots {
  constructor(
    private readonly kv: KeyValueStore,
    private readonly max: number,
    private readonly ttlMs: number,
  ) {}

  /** A free slot, or null when the user already holds `max`. Throws when the store can't answer. */
  async acquire(userId: string): Promise<ConnectionSlot | null> {
    const keys = Array.from({ length: this.max }, (_, i) => slotKey(userId, i));
    const holders = await this.kv.getMany(keys);
    const holder = randomUUID();
    for (let i = 0; i < keys.length; i++) {
      // Two sockets racing for the same free slot: set-if-absent lets one win, the other tries the next.
      if (holders[i] === null && (await this.kv.setIfAbsent(keys[i]!, holder, this.ttlMs))) return { key: keys[i]!, holder };
    }
    return null;
  }

  /** Keeps the slots alive; a slot that lapsed (the store was away) is taken back if still free. */
  async refresh(slots: ConnectionSlot[]): Promise<void> {
    if (slots.length === 0) return;
    const holders = await this.kv.getMany(slots.map((s) => s.key));
    await Promise.all(
      slots.map((s, i) => {
        if (holders[i] === s.holder) return this.kv.set(s.key, s.holder, this.ttlMs);
        if (holders[i] === null) return this.kv.setIfAbsent(s.key, s.holder, this.ttlMs);
        return undefined; // someone else holds it now: the cap is over by one until this socket closes
      }),
    );
  }

  async release(slot: ConnectionSlot): Promise<void> {
    await this.kv.delIfEquals(slot.key, slot.holder);
  }
}
