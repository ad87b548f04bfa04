import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Config } from '../../config/index.js';
import type { AccessClaims } from './access-tokens.js';

export const revokedSessionKey = (sid: string) => `revoked-session:${sid}`;
export const revokedClientKey = (clientId: string) => `revoked-client:${clientId}`;

/**
 * Revocation that takes effect at once on every instance: an entry in the shared key-value
 * store that outlives every access token it concerns (TTL = the longest token lifetime), so
 * the guard needs one key-value read per request and never the database.
 */
export class RevocationList {
  private readonly ttlMs: number;

  constructor(
    private readonly kv: KeyValueStore,
    auth: Config['auth'],
  ) {
    this.ttlMs = (Math.max(auth.accessTokenMinutes, auth.serviceTokenMinutes) + 1) * 60_000;
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
    const values = await this.kv.getMany(this.keysFor(claims));
    return values.some((v) => v !== null);
  }
}
