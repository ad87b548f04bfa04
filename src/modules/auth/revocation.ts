import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Config } from '../../config/index.js';
import type { AccessClaims } from './access-tokens.js';

export const revokedSessionKey = (sid: string) => `revoked-session:${sid}`;
export const revokedClientKey = (clientId: string) => `revoked-client:${clientId}`;
const LOADED_KEY = 'revocations-loaded';
/** Every key this list writes (kept near on Redis: see near-cache.ts). */
export const REVOCATION_KEY_PREFIXES = ['revoked-session:', 'revoked-client:', LOADED_KEY] as const;

/**
 * Revocation that takes effect at once on every instance: an entry in the shared key-value
 * store that outlives every access token it concerns (TTL = the longest token lifetime), so
 * the guard needs one key-value read per request and never the database.
 */
export class RevocationList {
  private readonly ttlMs: number;
  private replay: () => Promise<void> = async () => undefined;
  private reloading: Promise<void> | null = null;

  /**
   * Present while the store holds the replayed list. A store that restarted empty (Redis
   * without persistence, a failover) has lost the entries: the guard sees this key missing
   * in the same read and reloads the list from the database before answering.
   */
  static readonly LOADED_KEY = LOADED_KEY;

  constructor(
    private readonly kv: KeyValueStore,
    auth: Config['auth'],
  ) {
    this.ttlMs = (Math.max(auth.accessTokenMinutes, auth.serviceTokenMinutes) + 1) * 60_000;
  }

  /** How long an entry must live: the longest access-token lifetime, plus a minute. */
  get windowMs(): number {
    return this.ttlMs;
  }

  /** How to rebuild the list from the database (sessions and clients revoked recently). */
  setReplay(replay: () => Promise<void>): void {
    this.replay = replay;
  }

  /** Replays the list, once at a time however many requests notice the store is empty. */
  reload(): Promise<void> {
    this.reloading ??= (async () => {
      try {
        await this.replay();
        await this.kv.set(RevocationList.LOADED_KEY, new Date().toISOString());
      } finally {
        this.reloading = null;
      }
    })();
    return this.reloading;
  }

  async revokeSessions(sessionIds: string[], revokedAt = Date.now()): Promise<void> {
    const ttl = this.ttlMs - (Date.now() - revokedAt);
    if (ttl <= 0) return;
    await Promise.all(sessionIds.map((sid) => this.kv.set(revokedSessionKey(sid), '1', ttl)));
  }

  async revokeClient(clientId: string, revokedAt = Date.now()): Promise<void> {
    const ttl = this.ttlMs - (Date.now() - revokedAt);
    if (ttl > 0) await this.kv.set(revokedClientKey(clientId), '1', ttl);
  }

  /** The keys whose presence means "refuse this token"; the guard reads them with other keys in one round trip. */
  keysFor(claims: AccessClaims): string[] {
    const keys = [revokedSessionKey(claims.sid)];
    if (claims.client_id) keys.push(revokedClientKey(claims.client_id));
    return keys;
  }

  /** True when revoked. Throws when the store cannot answer: callers fail closed. */
  async isRevoked(claims: AccessClaims): Promise<boolean> {
    const keys = [...this.keysFor(claims), LOADED_KEY];
    let values = await this.kv.getMany(keys);
    // As in the guard: a store that lost the list is reloaded before an absent entry is trusted.
    if (values[keys.length - 1] === null) {
      await this.reload();
      values = await this.kv.getMany(keys);
      if (values[keys.length - 1] === null) throw new Error('the revocation list is still not loaded');
    }
    return values.slice(0, -1).some((v) => v !== null);
  }
}
