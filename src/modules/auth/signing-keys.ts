import { createCipheriv, createDecipheriv, createPrivateKey, createPublicKey, generateKeyPairSync, hkdfSync, randomBytes, type JsonWebKey, type KeyObject } from 'node:crypto';
import { calculateJwkThumbprint, type JWK } from 'jose';
import type { Logger } from 'pino';
import type { Config } from '../../config/index.js';
import type { SigningKeysRepository } from '../../repositories/signing-keys.repository.js';

export interface SigningKey {
  kid: string | undefined;
  alg: 'EdDSA' | 'HS256';
  key: KeyObject | Uint8Array;
}

export class SigningKeyError extends Error {}

/** How long a retired key stays in the JWKS: the longest token lifetime, plus a minute of clock skew. */
export function retiredKeyGraceMs(auth: Config['auth']): number {
  return (Math.max(auth.accessTokenMinutes, auth.serviceTokenMinutes) + 1) * 60_000;
}

// Instances reload at least this often, so a rotation made elsewhere is picked up even without pub/sub.
const RELOAD_EVERY_MS = 5 * 60_000;
// An unknown `kid` triggers a reload at most this often: a flood of forged kids cannot hammer the database.
const UNKNOWN_KID_RELOAD_MS = 5_000;

/**
 * The token signing keys. EdDSA (Ed25519): generated on first start, kept in the database so
 * every instance shares them, the private half encrypted with AES-256-GCM under a key derived
 * (HKDF) from JWT_SECRET_KEY/SECRET_KEY when one is set. `rotate()` makes a new key active and
 * keeps the old one verifiable until every token it signed has expired. HS256: the secret.
 */
export class SigningKeyRing {
  private active: SigningKey | null = null;
  private verifiers = new Map<string, KeyObject>();
  private publicJwks: JWK[] = [];
  private loadedAt = 0;
  private lastUnknownKidReload = 0;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly auth: Config['auth'],
    private readonly repo: SigningKeysRepository,
    private readonly logger: Logger,
  ) {}

  get algorithm(): 'EdDSA' | 'HS256' {
    return this.auth.algorithm;
  }

  /** The key new tokens are signed with. */
  async current(): Promise<SigningKey> {
    if (this.auth.algorithm === 'HS256') return { kid: undefined, alg: 'HS256', key: new TextEncoder().encode(this.auth.secret ?? '') };
    if (!this.active || Date.now() - this.loadedAt > RELOAD_EVERY_MS) await this.reload();
    return this.active!;
  }

  /** The key that verifies a token with this `kid`, or null (unknown or expired key). */
  async verifier(kid: string | undefined): Promise<KeyObject | Uint8Array | null> {
    if (this.auth.algorithm === 'HS256') return new TextEncoder().encode(this.auth.secret ?? '');
    if (!kid) return null;
    if (!this.active) await this.reload();
    const known = this.verifiers.get(kid);
    if (known) return known;
    if (Date.now() - this.lastUnknownKidReload > UNKNOWN_KID_RELOAD_MS) {
      this.lastUnknownKidReload = Date.now();
      await this.reload(); // a key another instance rotated in
    }
    return this.verifiers.get(kid) ?? null;
  }

  /** The public keys for /.well-known/jwks.json (empty with HS256). */
  async jwks(): Promise<{ keys: JWK[] }> {
    if (this.auth.algorithm === 'HS256') return { keys: [] };
    if (!this.active || Date.now() - this.loadedAt > RELOAD_EVERY_MS) await this.reload();
    return { keys: this.publicJwks };
  }

  /** Loads the keys; creates the first one when there is none. */
  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = null));
    return this.loading;
  }

  private async load(): Promise<void> {
    if (this.auth.algorithm === 'HS256') return;
    let rows = await this.repo.listVerifiable(new Date(Date.now() - retiredKeyGraceMs(this.auth)));
    if (!rows.some((r) => r.retired_at === null)) {
      const created = await this.newKeyRow();
      if (await this.repo.insertFirst(created)) this.logger.info({ kid: created.kid }, 'generated the first token signing key');
      rows = await this.repo.listVerifiable(new Date(Date.now() - retiredKeyGraceMs(this.auth)));
    }
    const activeRow = rows.find((r) => r.retired_at === null);
    if (!activeRow) throw new SigningKeyError('no active signing key after creating one');
    const verifiers = new Map<string, KeyObject>();
    const jwks: JWK[] = [];
    for (const row of rows) {
      const jwk = JSON.parse(row.public_jwk) as JWK;
      verifiers.set(row.kid, createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' }));
      jwks.push({ ...jwk, kid: row.kid, alg: 'EdDSA', use: 'sig' });
    }
    const privateJwk = this.openPrivateKey(activeRow.kid, activeRow.private_key);
    this.active = { kid: activeRow.kid, alg: 'EdDSA', key: createPrivateKey({ key: privateJwk, format: 'jwk' }) };
    this.verifiers = verifiers;
    this.publicJwks = jwks;
    this.loadedAt = Date.now();
  }

  /** Makes a new key active; the old one keeps verifying until its tokens expire. Returns the new kid. */
  async rotate(): Promise<string> {
    if (this.auth.algorithm === 'HS256') {
      throw new SigningKeyError('keys rotate applies to EdDSA keys; with JWT_ALGORITHM=HS256 the key is JWT_SECRET_KEY');
    }
    const row = await this.newKeyRow();
    await this.repo.rotate(row);
    await this.reload();
    return row.kid;
  }

  private async newKeyRow() {
    const { publicKey, privateKey } = generateKeyPairSync('ed25519');
    const publicJwk = publicKey.export({ format: 'jwk' }) as JWK;
    const kid = await calculateJwkThumbprint(publicJwk);
    const privateJwk = JSON.stringify(privateKey.export({ format: 'jwk' }));
    return { kid, algorithm: 'EdDSA', public_jwk: JSON.stringify(publicJwk), private_key: this.sealPrivateKey(privateJwk) };
  }

  private encryptionKey(): Buffer | null {
    if (!this.auth.secret) return null;
    return Buffer.from(hkdfSync('sha256', this.auth.secret, 'tessera', 'signing-key-encryption', 32));
  }

  private sealPrivateKey(jwkJson: string): string {
    const key = this.encryptionKey();
    if (!key) return `jwk:${Buffer.from(jwkJson).toString('base64url')}`;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    const sealed = Buffer.concat([cipher.update(jwkJson, 'utf8'), cipher.final()]);
    return `aes256gcm:${iv.toString('base64url')}.${cipher.getAuthTag().toString('base64url')}.${sealed.toString('base64url')}`;
  }

  private openPrivateKey(kid: string, stored: string): JsonWebKey {
    if (stored.startsWith('jwk:')) return JSON.parse(Buffer.from(stored.slice(4), 'base64url').toString('utf8')) as JsonWebKey;
    const key = this.encryptionKey();
    if (!key) throw new SigningKeyError(`signing key ${kid} is encrypted: set the JWT_SECRET_KEY (or SECRET_KEY) it was created with`);
    const [iv, tag, sealed] = stored.replace(/^aes256gcm:/, '').split('.');
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv ?? '', 'base64url'));
      decipher.setAuthTag(Buffer.from(tag ?? '', 'base64url'));
      const json = Buffer.concat([decipher.update(Buffer.from(sealed ?? '', 'base64url')), decipher.final()]).toString('utf8');
      return JSON.parse(json) as JsonWebKey;
    } catch {
      throw new SigningKeyError(`signing key ${kid} cannot be decrypted: JWT_SECRET_KEY/SECRET_KEY differs from the one it was created with (run \`tessera keys rotate\` with the new secret to replace it)`);
    }
  }
}
