import { describe, expect, it } from 'vitest';
import { createReadiness } from './readiness.js';

/** Dependencies whose checks count their calls and answer when told to. */
function fakeDependencies() {
  const calls = { database: 0, redis: 0, storage: 0 };
  const pending: (() => void)[] = [];
  const later = () => new Promise<void>((resolve) => pending.push(resolve));
  let storageDown = false;
  const deps = {
    database: { ping: () => (calls.database++, later()) },
    kv: { kind: 'redis', ping: () => (calls.redis++, later()) },
    storage: { check: () => (calls.storage++, storageDown ? Promise.reject(new Error('bucket gone')) : later()) },
  };
  return {
    deps: deps as never,
    calls,
    answer: () => pending.splice(0).forEach((resolve) => resolve()),
    breakStorage: () => (storageDown = true),
  };
}

describe('readiness checks', () => {
  it('callers arriving during a check share it; the next caller after it gets a new one', async () => {
    const f = fakeDependencies();
    const readiness = createReadiness(f.deps);
    const burst = Array.from({ length: 20 }, () => readiness());
    expect(f.calls).toEqual({ database: 1, redis: 1, storage: 1 });
    f.answer();
    for (const states of await Promise.all(burst)) expect(states).toEqual({ database: 'ok', redis: 'ok', storage: 'ok' });

    f.breakStorage();
    const next = readiness();
    expect(f.calls).toEqual({ database: 2, redis: 2, storage: 2 });
    f.answer();
    expect(await next).toEqual({ database: 'ok', redis: 'ok', storage: 'down' });
  });
});
