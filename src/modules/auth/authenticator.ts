import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import { AppError } from '../../errors/app-error.js';
import type { AccessClaims, AccessTokens } from './access-tokens.js';
import { RevocationList } from './revocation.js';
import { cachedUserKey, type UserCache } from './user-cache.js';
import type { UserView } from './user-view.js';

/** Who is calling, as established from a valid, unrevoked access token. */
export type Principal =
  | {
      kind: 'user';
      userId: string;
      sessionId: string;
      scopes: string[];
      tokenId: string;
      expiresAt: number;
      /** the user object, when the key-value store had it (read in the same round trip) */
      cachedUser: UserView | null;
    }
  | { kind: 'service'; clientId: string; sessionId: string; scopes: string[]; tokenId: string; expiresAt: number };

// RFC 6750 §3: the challenge a 401 carries; with `error` once a token was presented.
const CHALLENGE = 'Bearer realm="tessera"';
const INVALID_CHALLENGE = 'Bearer realm="tessera", error="invalid_token"';

export function missingToken(): AppError {
  return new AppError('unauthorized', { detail: 'Send an access token: Authorization: Bearer <token>', headers: { 'www-authenticate': CHALLENGE } });
}

export function invalidToken(detail = 'The access token is invalid, expired or revoked'): AppError {
  return new AppError('invalid_token', { detail, headers: { 'www-authenticate': INVALID_CHALLENGE } });
}

/** The token out of an Authorization header: null when absent; a malformed header is an invalid token. */
export function bearerToken(header: string | undefined): string | null {
  if (header === undefined || header === '') return null;
  const m = /^Bearer[ ]+([A-Za-z0-9\-._~+/]+=*)[ ]*$/i.exec(header);
  if (!m || m[1]!.length > 8192) throw invalidToken('The Authorization header is not "Bearer <token>"');
  return m[1]!;
}

/**
 * The request guard's logic: verify the token (cached), then ask the key-value store whether
 * its session or client was revoked, reading the cached user in the same round trip. A store
 * that cannot answer is a 503, never an accepted token (fail closed).
 */
export class Authenticator {
  constructor(
    private readonly tokens: AccessTokens,
    private readonly revocation: RevocationList,
    private readonly kv: KeyValueStore,
    private readonly users: UserCache,
  ) {}

  async authenticate(token: string): Promise<Principal> {
    const claims = await this.tokens.verify(token);
    if (!claims) throw invalidToken();
    const revocationKeys = this.revocation.keysFor(claims);
    const service = isServiceToken(claims);
    // One round trip: the revocation entries, the marker that the list is loaded, the cached user.
    const keys = [...revocationKeys, RevocationList.LOADED_KEY, ...(service ? [] : [cachedUserKey(claims.sub)])];
    let values: (string | null)[];
    try {
      values = await this.kv.getMany(keys);
      if (values[revocationKeys.length] === null) {
        // The store lost its contents: rebuild the list before trusting an absent entry.
        await this.revocation.reload();
        values = await this.kv.getMany(keys);
      }
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new AppError('kv_unavailable', { detail: 'Token revocation cannot be checked right now', cause: err });
    }
    if (values.slice(0, revocationKeys.length).some((v) => v !== null)) throw invalidToken('The session of this access token has been signed out');
    const base = { sessionId: claims.sid, scopes: claims.scope.split(' ').filter(Boolean), tokenId: claims.jti, expiresAt: claims.exp };
    if (service) return { kind: 'service', clientId: claims.client_id!, ...base };
    return { kind: 'user', userId: claims.sub, ...base, cachedUser: this.users.parse(values[revocationKeys.length + 1] ?? null) };
  }
}

export function isServiceToken(claims: AccessClaims): boolean {
  return claims.client_id !== undefined && claims.client_id === claims.sub;
}
