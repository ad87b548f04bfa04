import { createHmac, randomUUID, sign, type KeyObject } from 'node:crypto';
import { decodeProtectedHeader, jwtVerify, type JWTPayload } from 'jose';
import { LRUCache } from 'lru-cache';
import type { Config } from '../../config/index.js';
import type { SigningKeyRing } from './signing-keys.js';

/** The claims Tessera puts in every access token (RFC 9068 profile). */
export interface AccessClaims {
  sub: string;
  sid: string;
  scope: string;
  jti: string;
  iat: number;
  exp: number;
  /** the OAuth client that obtained the token; for a service token it equals `sub` */
  client_id?: string;
}

export interface IssuedAccessToken {
  token: string;
  expiresIn: number;
  claims: AccessClaims;
}

// RFC 9068 token type: a JWT of any other type (an ID token, say) is never taken for an access token.
const ACCESS_TOKEN_TYP = 'at+jwt';

/**
 * Signs and verifies access tokens. Verifying a signature costs ~100–200 µs, so tokens already
 * verified are kept in a bounded LRU keyed by the token text until they expire: a repeat
 * request costs one map lookup (the string's hash). Only a token whose signature and claims
 * were verified is ever a key, so a hit is the verification. Revocation is NOT cached here;
 * the guard asks the key-value store every time.
 *
 * The tokens themselves are the keys (at most 20,000 of ~0.5 KB: ≤ 10 MB), not their SHA-256:
 * hashing each request's token cost more than the rest of the lookup, and this process holds
 * every token it is sent in its request buffers anyway.
 */
export class AccessTokens {
  private readonly verified = new LRUCache<string, AccessClaims>({ max: 20_000 });

  constructor(
    private readonly auth: Config['auth'],
    private readonly keys: SigningKeyRing,
  ) {}

  async issue(input: { subject: string; sessionId: string; scope: string; clientId?: string | null; lifetimeSeconds: number }): Promise<IssuedAccessToken> {
    const { kid, alg, key } = await this.keys.current();
    const iat = Math.floor(Date.now() / 1000);
    const claims: AccessClaims = {
      sub: input.subject,
      sid: input.sessionId,
      scope: input.scope,
      jti: randomUUID(),
      iat,
      exp: iat + input.lifetimeSeconds,
      ...(input.clientId ? { client_id: input.clientId } : {}),
    };
    // Signed here, synchronously (~65 µs of CPU), rather than with jose's SignJWT (~160 µs): jose
    // signs through WebCrypto, a job on libuv's thread pool, the pool the argon2id hashes of
    // concurrent logins occupy. The bytes are SignJWT's (same header, same claim order; Ed25519
    // and HMAC are deterministic): access-tokens.test.ts checks it. Verification stays jose's.
    const header = { alg, typ: ACCESS_TOKEN_TYP, ...(kid ? { kid } : {}) };
    const { sub, jti, exp, ...custom } = claims;
    const payload = { ...custom, sub, jti, iss: this.auth.issuer, aud: this.auth.audience, iat, exp };
    const signingInput = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(payload))}`;
    const token = `${signingInput}.${signature(alg, key, signingInput)}`;
    return { token, expiresIn: input.lifetimeSeconds, claims };
  }

  /** The claims of a valid token, or null: bad signature, other key or algorithm, expired, wrong iss/aud, malformed. */
  /** The claims of a token verified before and not yet expired, without any await; undefined otherwise. */
  verifiedClaims(token: string): AccessClaims | undefined {
    const hit = this.verified.get(token);
    return hit && hit.exp * 1000 > Date.now() ? hit : undefined;
  }

  async verify(token: string): Promise<AccessClaims | null> {
    const hit = this.verified.get(token);
    const now = Date.now();
    if (hit) return hit.exp * 1000 > now ? hit : null;
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const key = await this.keys.verifier(header.kid);
          if (!key) throw new Error('unknown signing key');
          return key;
        },
        {
          issuer: this.auth.issuer,
          audience: this.auth.audience,
          // Only the configured algorithm: refuses `none` and HS256 signed with the public key.
          algorithms: [this.keys.algorithm],
          typ: ACCESS_TOKEN_TYP,
          requiredClaims: ['sub', 'sid', 'jti', 'iat', 'exp', 'scope'],
        },
      ));
    } catch {
      return null;
    }
    const claims = toClaims(payload);
    if (!claims) return null;
    this.verified.set(token, claims, { ttl: Math.max(1, claims.exp * 1000 - now) });
    return claims;
  }

  /** The token's header `kid` without verifying anything (introspection of foreign tokens). */
  static looksLikeJwt(token: string): boolean {
    try {
      decodeProtectedHeader(token);
      return token.split('.').length === 3;
    } catch {
      return false;
    }
  }
}

function base64url(json: string): string {
  return Buffer.from(json).toString('base64url');
}

/** JWS signature of a compact token's signing input (RFC 7515 §5.1): EdDSA (Ed25519) or HS256. */
function signature(alg: 'EdDSA' | 'HS256', key: KeyObject | Uint8Array, input: string): string {
  if (alg === 'HS256') return createHmac('sha256', key).update(input).digest('base64url');
  if (key instanceof Uint8Array) throw new TypeError('EdDSA needs a private KeyObject');
  return sign(null, Buffer.from(input), key).toString('base64url');
}

function toClaims(p: JWTPayload): AccessClaims | null {
  const { sub, jti, iat, exp } = p;
  const sid = p.sid;
  const scope = p.scope;
  const clientId = p.client_id;
  if (typeof sub !== 'string' || typeof jti !== 'string' || typeof iat !== 'number' || typeof exp !== 'number') return null;
  if (typeof sid !== 'string' || typeof scope !== 'string') return null;
  if (clientId !== undefined && typeof clientId !== 'string') return null;
  return { sub, sid, scope, jti, iat, exp, ...(clientId ? { client_id: clientId } : {}) };
}
