import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import type { Config } from '../../config/index.js';
import { AccessTokens } from './access-tokens.js';
import type { SigningKey, SigningKeyRing } from './signing-keys.js';

const auth = { issuer: 'https://tessera.example', audience: 'tessera' } as Config['auth'];

function ring(current: SigningKey, verifier: KeyObject | Uint8Array): SigningKeyRing {
  return {
    algorithm: current.alg,
    current: async () => current,
    verifier: async (kid: string | undefined) => (kid === current.kid ? verifier : null),
  } as unknown as SigningKeyRing;
}

/** What jose's SignJWT made of the same claims (the signing code before it was done in-house). */
function signedByJose(claims: Record<string, unknown>, current: SigningKey): Promise<string> {
  const { sub, jti, exp, ...custom } = claims as { sub: string; jti: string; exp: number; iat: number };
  return new SignJWT({ ...custom })
    .setProtectedHeader({ alg: current.alg, typ: 'at+jwt', ...(current.kid ? { kid: current.kid } : {}) })
    .setSubject(sub)
    .setJti(jti)
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setIssuedAt(custom.iat)
    .setExpirationTime(exp)
    .sign(current.key);
}

describe('access token signing', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const secret = new TextEncoder().encode('x'.repeat(32));
  const cases: [string, SigningKey, KeyObject | Uint8Array][] = [
    ['EdDSA', { kid: 'k1', alg: 'EdDSA', key: privateKey }, publicKey],
    ['HS256', { kid: undefined, alg: 'HS256', key: secret }, secret],
  ];

  for (const [name, current, verifier] of cases) {
    it(`${name}: the same bytes as jose's SignJWT, and they verify`, async () => {
      const tokens = new AccessTokens(auth, ring(current, verifier));
      for (const clientId of [null, 'client-1']) {
        const issued = await tokens.issue({ subject: 'user-1', sessionId: 'session-1', scope: 'user admin', clientId, lifetimeSeconds: 900 });
        expect(issued.token).toBe(await signedByJose({ ...issued.claims }, current));
        expect(await tokens.verify(issued.token)).toEqual(issued.claims);
        expect(issued.claims.exp - issued.claims.iat).toBe(900);
        expect(issued.claims.client_id).toBe(clientId ?? undefined);
      }
    });
  }

  it('a token signed with another key does not verify', async () => {
    const other = generateKeyPairSync('ed25519').privateKey;
    const forged = await new AccessTokens(auth, ring({ kid: 'k1', alg: 'EdDSA', key: other }, publicKey)).issue({ subject: 'u', sessionId: 's', scope: 'user', lifetimeSeconds: 60 });
    expect(await new AccessTokens(auth, ring({ kid: 'k1', alg: 'EdDSA', key: privateKey }, publicKey)).verify(forged.token)).toBeNull();
  });
});
