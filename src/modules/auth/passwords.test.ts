import { describe, expect, it } from 'vitest';
import { PasswordHasher } from './passwords.js';

describe('password hashing', () => {
  const hasher = new PasswordHasher({ memoryKiB: 1024, iterations: 1, parallelism: 1 });

  it('argon2id with the configured parameters; verifies the same password in either Unicode form', async () => {
    const hash = await hasher.hash('Caf\u00e9-Pass-2024!');
    expect(hash).toMatch(/^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
    expect(await hasher.verify(hash, 'Cafe\u0301-Pass-2024!')).toBe(true);
    expect(await hasher.verify(hash, 'Cafe-Pass-2024!')).toBe(false);
    expect(await hasher.verify('not a hash', 'x')).toBe(false);
  });

  it('needsRehash when the parameters differ (or the hash is not argon2id)', async () => {
    const hash = await hasher.hash('x');
    expect(hasher.needsRehash(hash)).toBe(false);
    expect(new PasswordHasher({ memoryKiB: 19_456, iterations: 2, parallelism: 1 }).needsRehash(hash)).toBe(true);
    expect(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true);
  });

  it('the dummy verification for unknown e-mails never succeeds', async () => {
    expect(await hasher.verifyDummy('anything')).toBe(false);
  });
});
