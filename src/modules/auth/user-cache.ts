import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import { ParsedValues } from '../../adapters/kv/parsed-values.js';
import type { UserView } from './user-view.js';

export const USER_CACHE_KEY_PREFIX = 'user:';
export const cachedUserKey = (userId: string) => `${USER_CACHE_KEY_PREFIX}${userId}`;

// A backstop only: every change to a user deletes the entry at once.
const USER_CACHE_TTL_MS = 5 * 60_000;

/**
 * The user object in the shared key-value store, so `GET /auth/me` is answered from the same
 * key-value round trip as the revocation check. Whoever changes a user calls `invalidate`.
 */
export class UserCache {
  private readonly parsed = new ParsedValues<UserView>((text) => {
    try {
      const value = JSON.parse(text) as UserView | null;
      return value && typeof value === 'object' ? value : null;
    } catch {
      return null;
    }
  });

  constructor(private readonly kv: KeyValueStore) {}

  /** The cached user (shared and frozen: read it, never change it), or null. */
  parse(value: string | null): Readonly<UserView> | null {
    return value ? this.parsed.get(value) : null;
  }

  async set(user: UserView): Promise<void> {
    await this.kv.set(cachedUserKey(user.id), JSON.stringify(user), USER_CACHE_TTL_MS, { wait: false });
  }

  async invalidate(userId: string): Promise<void> {
    await this.kv.del(cachedUserKey(userId));
  }
}
