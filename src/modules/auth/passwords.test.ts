import { readdirSync, readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { Argon2Threads } from './hash-threads.js';
import { PasswordHasher } from './passwords.js';

const CHEAP = { memoryKiB: 1024, iterations: 1, parallelism: 1 };

/** The nice value of each of this process's threads (Linux: /proc/self/task/<tid>/stat, field 19). */
function threadNices(): Map<string, number> {
  const nices = new Map<string, number>();
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'utf8');
      nices.set(tid, Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // the thread ended meanwhile
    }
  }
  return nices;
}

describe('password hashing', () => {
  const hasher = new PasswordHasher({ ...CHEAP, threads: 2, nice: 5 });
  afterAll(() => hasher.close());

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
    expect(new PasswordHasher({ memoryKiB: 19_456, iterations: 2, parallelism: 1, threads: 1, nice: 0 }).needsRehash(hash)).toBe(true);
    expect(hasher.needsRehash('$2b$10$abcdefghijklmnopqrstuv')).toBe(true);
  });

  it('the dummy verification for unknown e-mails never succeeds', async () => {
    expect(await hasher.verifyDummy('anything')).toBe(false);
  });

  it.runIf(process.platform === 'linux')('hashes on at most ARGON2_THREADS threads at ARGON2_NICE, while the event loop keeps its priority', async () => {
    const before = threadNices();
    const pool = new PasswordHasher({ ...CHEAP, threads: 3, nice: 7 });
    try {
      const hashes = await Promise.all(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].map((p) => pool.hash(`${p}-Pass-2024!`)));
      const checks = await Promise.all(hashes.map((h, i) => pool.verify(h, `${'abcdefgh'[i]}-Pass-2024!`)));
      expect(checks).toEqual(Array(8).fill(true));
      const fresh = [...threadNices()].filter(([tid]) => !before.has(tid));
      expect(fresh.filter(([, nice]) => nice === 7)).toHaveLength(3);
      expect(threadNices().get(String(process.pid))).toBe(0);
    } finally {
      await pool.close();
    }
  });

  it('a hashing thread that dies fails its job with an error, not a wrong password, and the next job gets a new thread', async () => {
    // A costly hash (64 MiB, 3 passes: a few hundred ms to verify), so the thread is still inside
    // the job when it is terminated; with the cheap parameters the verification could finish and
    // answer before the termination took hold (it did once, in CI).
    const pool = new PasswordHasher({ memoryKiB: 65_536, iterations: 3, parallelism: 1, threads: 1, nice: 0 });
    try {
      const hash = await pool.hash('Right-Pass-2024!');
      const threads = (pool as unknown as { threads: { threads: { worker: { terminate(): Promise<number> } }[] } }).threads;
      const pending = pool.verify(hash, 'Right-Pass-2024!');
      await threads.threads[0]!.worker.terminate();
      await expect(pending).rejects.toThrow(/password hashing thread stopped/);
      expect(await pool.verify(hash, 'Right-Pass-2024!')).toBe(true);
    } finally {
      await pool.close();
    }
  });

  it('a thread idle for its time ends, and the next job starts another', async () => {
    // Idle time long enough that the first thread cannot end before the second hash returns on
    // a loaded machine (50 ms did, under the full suite), short enough to wait for.
    const pool = new Argon2Threads(2, 0, 1000);
    const options = { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 };
    try {
      await Promise.all([pool.hash('one-Pass-2024!', options), pool.hash('two-Pass-2024!', options)]);
      expect(pool.running).toBe(2);
      await expect.poll(() => pool.running, { timeout: 5000 }).toBe(0);
      const hash = await pool.hash('three-Pass-2024!', options);
      expect(await pool.verify(hash, 'three-Pass-2024!')).toBe(true);
      expect(pool.running).toBe(1);
    } finally {
      await pool.close();
    }
  });

  it('after close, queued and later jobs fail', async () => {
    const pool = new Argon2Threads(1, 0);
    const options = { algorithm: 2, memoryCost: 1024, timeCost: 1, parallelism: 1 };
    const settled = Promise.allSettled([pool.hash('one-Pass-2024!', options), pool.hash('two-Pass-2024!', options)]);
    await pool.close();
    const [first, queued] = await settled;
    expect(first.status).toBe('rejected');
    expect(queued).toMatchObject({ status: 'rejected', reason: { message: 'password hashing has stopped' } });
    await expect(pool.verify('x', 'y')).rejects.toThrow(/stopped/);
  });
});
