import { randomBytes } from 'node:crypto';
import type { Config } from '../../config/index.js';
import { Argon2InputError, Argon2Threads } from './hash-threads.js';

/**
 * NIST SP 800-63B asks for Unicode normalisation before hashing, so the same password typed on
 * two keyboards (composed or decomposed accents, full-width digits) is the same password.
 */
export function normalisePassword(password: string): string {
  return password.normalize('NFKC');
}

// Algorithm.Argon2id of @node-rs/argon2 (an ambient const enum, which isolated modules cannot read).
const ARGON2ID = 2;

/**
 * argon2id with the configured (OWASP) parameters, on ARGON2_THREADS threads below the event
 * loop's priority (hash-threads.ts); verification of a dummy hash for unknown users.
 */
export class PasswordHasher {
  private dummyHash: Promise<string> | null = null;
  private readonly threads: Argon2Threads;

  constructor(private readonly params: Config['auth']['argon2']) {
    this.threads = new Argon2Threads(params.threads, params.nice);
  }

  private options() {
    return {
      algorithm: ARGON2ID,
      memoryCost: this.params.memoryKiB,
      timeCost: this.params.iterations,
      parallelism: this.params.parallelism,
    };
  }

  hash(password: string): Promise<string> {
    return this.threads.hash(normalisePassword(password), this.options());
  }

  async verify(storedHash: string, password: string): Promise<boolean> {
    try {
      return await this.threads.verify(storedHash, normalisePassword(password));
    } catch (err) {
      // A malformed stored hash never signs anyone in; a hashing thread that failed is an
      // error (never a wrong password, which would count towards a lockout).
      if (err instanceof Argon2InputError) return false;
      throw err;
    }
  }

  /** Stops the hashing threads. */
  close(): Promise<void> {
    return this.threads.close();
  }

  /**
   * Spends the same time as a real verification, for e-mails with no account, so a wrong
   * address and a wrong password cannot be told apart by timing.
   */
  async verifyDummy(password: string): Promise<false> {
    this.dummyHash ??= this.hash(randomBytes(16).toString('hex'));
    await this.verify(await this.dummyHash, password);
    return false;
  }

  /** True when the hash was made with other parameters: re-hash it at the next sign-in. */
  needsRehash(storedHash: string): boolean {
    const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$/.exec(storedHash);
    if (!m) return true;
    return Number(m[1]) !== this.params.memoryKiB || Number(m[2]) !== this.params.iterations || Number(m[3]) !== this.params.parallelism;
  }
}
