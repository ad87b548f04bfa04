import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

// The store the app runs on: in memory when embedded, Redis on the PostgreSQL + Redis project.
describe(`key-value store: compare-and-delete (${BACKEND})`, () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await createTestApp();
  });
  afterAll(() => t?.close());

  it('delIfEquals deletes a lease only for its holder, in one step', async () => {
    const { kv } = t.container;
    expect(kv.kind).toBe(BACKEND === 'embedded' ? 'memory' : 'redis');
    await kv.set('lease:test', 'holder-a', 30_000);
    // A holder whose lease expired and was taken over must not release the new holder's.
    expect(await kv.delIfEquals('lease:test', 'holder-b')).toBe(false);
    expect(await kv.get('lease:test')).toBe('holder-a');
    expect(await kv.delIfEquals('lease:test', 'holder-a')).toBe(true);
    expect(await kv.get('lease:test')).toBeNull();
    expect(await kv.delIfEquals('lease:test', 'holder-a')).toBe(false);
    // After release, the next holder can take it.
    expect(await kv.setIfAbsent('lease:test', 'holder-b', 30_000)).toBe(true);
  });
});
