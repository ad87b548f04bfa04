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

/** A verified token's claims and the key-value reads that decide it (revocation, cached user). */
export interface PendingAuth {
  claims: AccessClaims;
  /** revocation entries, then the loaded marker, then (user tokens) the cached user */
  keys: readonly string[];
  revocationKeys: number;
  service: boolean;
}

/**
 * The request guard's logic: verify the token (cached), then ask the key-value store whether
 * its session or client was revoked, reading the cached user in the same round trip. A store
 * that cannot answer is a 503, never an accepted token (fail closed).
 *
 * In two halves for the HTTP guard, which reads these keys in its single key-value round trip
 * together with the request's rate-limit hits: `prepare` (no I/O once the token is cached) and
 * `complete` with the values read.
 */
export class Authenticator {
  /** per verified claims object (the token cache shares them): what `prepare` derives, once */
  private readonly prepared = new WeakMap<AccessClaims, PendingAuth>();

  constructor(
    private readonly tokens: AccessTokens,
    private readonly revocation: RevocationList,
    private readonly kv: KeyValueStore,
    private readonly users: UserCache,
  ) {}

  /** A token verified before and still unexpired: its claims at once, without a promise. */
  cachedClaims(token: string): AccessClaims | undefined {
    return this.tokens.verifiedClaims(token);
  }

  /** The verified claims, or an invalid-token error. */
  async claims(token: string): Promise<AccessClaims> {
    const claims = await this.tokens.verify(token);
    if (!claims) throw invalidToken();
    return claims;
  }

  /** The keys whose values decide the claims (revocation entries, loaded marker, cached user). */
  prepare(claims: AccessClaims): PendingAuth {
    let pending = this.prepared.get(claims);
    if (pending) return pending;
    const revocationKeys = this.revocation.keysFor(claims);
    const service = isServiceToken(claims);
    const keys = [...revocationKeys, RevocationList.LOADED_KEY];
    if (!service) keys.push(cachedUserKey(claims.sub));
    pending = Object.freeze({ claims, keys: Object.freeze(keys), revocationKeys: revocationKeys.length, service });
    this.prepared.set(claims, pending);
    return pending;
  }

  /**
   * The principal, from the values of `pending.keys`; `null` when the store has lost the
   * revocation list (it restarted empty), which `reloadAndComplete` handles.
   */
  complete(pending: PendingAuth, values: readonly (string | null)[]): Principal | null {
    const { claims } = pending;
    if (values[pending.revocationKeys] === null) return null;
    for (let i = 0; i < pending.revocationKeys; i++) {
      if (values[i] !== null) throw invalidToken('The session of this access token has been signed out');
    }
    const base = { sessionId: claims.sid, scopes: claims.scope.split(' ').filter(Boolean), tokenId: claims.jti, expiresAt: claims.exp };
    if (pending.service) return { kind: 'service', clientId: claims.client_id!, ...base };
    return { kind: 'user', userId: claims.sub, ...base, cachedUser: this.users.parse(values[pending.revocationKeys + 1] ?? null) };
  }

  /** The store lost its contents: rebuild the list before trusting an absent entry, then read again. */
  async reloadAndComplete(pending: PendingAuth): Promise<Principal> {
    try {
      await this.revocation.reload();
      const principal = this.complete(pending, await this.kv.getMany(pending.keys));
      if (!principal) throw new Error('the revocation list is still not loaded');
      return principal;
    } catch (err) {
      throw unavailable(err);
    }
  }

  async authenticate(token: string): Promise<Principal> {
    const pending = this.prepare(this.cachedClaims(token) ?? (await this.claims(token)));
    let values: (string | null)[];
    try {
      values = await this.kv.getMany(pending.keys);
    } catch (err) {
      throw unavailable(err);
    }
    return this.complete(pending, values) ?? (await this.reloadAndComplete(pending));
  }
}

/** A store that cannot answer: 503, never an accepted token. */
export function unavailable(err: unknown): AppError {
  if (err instanceof AppError) return err;
  return new AppError('kv_unavailable', { detail: 'Token revocation cannot be checked right now', cause: err });
}

export function isServiceToken(claims: AccessClaims): boolean {
  return claims.client_id !== undefined && claims.client_id === claims.sub;
}
