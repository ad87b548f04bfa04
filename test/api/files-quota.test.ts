import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, expectProblem, signedInUser, type SignedIn } from '../helpers/auth.js';
import { generatedBytes, pngBytes, streamUpload, uploadFile, type FileBody } from '../helpers/files.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const MiB = 1024 * 1024;

describe(`files: quota and size limit (${BACKEND})`, () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, USER_STORAGE_QUOTA_MB: '1', MAX_FILE_SIZE: '1' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  async function usage(user: SignedIn) {
    return (await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(user.accessToken) })).json<{ used_bytes: number; quota_bytes: number; count: number }>();
  }

  async function reservedBytes(user: SignedIn): Promise<number> {
    const row = await t.container.database.db.selectFrom('storage_usage').select('reserved_bytes').where('user_id', '=', user.id).executeTakeFirst();
    return Number(row?.reserved_bytes ?? 0);
  }

  async function objectsOf(user: SignedIn): Promise<string[]> {
    const keys: string[] = [];
    for await (const o of t.container.storage.list(`files/${user.id}/`)) keys.push(o.key);
    return keys;
  }

  it('a file that fits is stored; one that would pass the quota is 413 quota_exceeded and leaves nothing', async () => {
    const user = await signedInUser(t);
    expect((await uploadFile(t, user.accessToken, pngBytes(600 * 1024), 'a.png')).statusCode).toBe(201);
    expect(await usage(user)).toEqual({ used_bytes: 600 * 1024, quota_bytes: MiB, count: 1 });
    const over = await uploadFile(t, user.accessToken, pngBytes(600 * 1024), 'b.png');
    expectProblem(over, 413, 'quota_exceeded');
    expect(await usage(user)).toEqual({ used_bytes: 600 * 1024, quota_bytes: MiB, count: 1 });
    expect(await reservedBytes(user)).toBe(0);
    expect(await objectsOf(user)).toHaveLength(1);
    // exactly what is left still fits
    expect((await uploadFile(t, user.accessToken, pngBytes(MiB - 600 * 1024), 'rest.png')).statusCode).toBe(201);
    expect((await usage(user)).used_bytes).toBe(MiB);
  });

  it('deleting gives the bytes back to the quota', async () => {
    const user = await signedInUser(t);
    const first = (await uploadFile(t, user.accessToken, pngBytes(700 * 1024), 'a.png')).json<FileBody>();
    expectProblem(await uploadFile(t, user.accessToken, pngBytes(700 * 1024), 'b.png'), 413, 'quota_exceeded');
    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${first.id}`, headers: bearer(user.accessToken) })).statusCode).toBe(204);
    expect((await uploadFile(t, user.accessToken, pngBytes(700 * 1024), 'b.png')).statusCode).toBe(201);
  });

  it('two uploads at once that together pass the quota: one is stored, the other refused with quota_exceeded', async () => {
    const user = await signedInUser(t);
    const results = await Promise.all([uploadFile(t, user.accessToken, pngBytes(600 * 1024), 'a.png'), uploadFile(t, user.accessToken, pngBytes(600 * 1024), 'b.png')]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 413]);
    expectProblem(results.find((r) => r.statusCode === 413)!, 413, 'quota_exceeded');
    expect(await usage(user)).toMatchObject({ used_bytes: 600 * 1024, count: 1 });
    expect(await reservedBytes(user)).toBe(0);
    expect(await objectsOf(user)).toHaveLength(1);
  });

  it('the same without Content-Length (chunked, reserved as the bytes arrive): one stored, one refused, never both past the quota', async () => {
    const user = await signedInUser(t);
    const uploads = [0, 1].map((i) => streamUpload(port, user.accessToken, generatedBytes(600 * 1024, { chunk: 32 * 1024, pauseMs: 2 }), { filename: `c${i}.png` }));
    const results = await Promise.all(uploads.map((u) => u.done));
    const statuses = results.map((r) => ('status' in r ? r.status : 0)).sort();
    expect(statuses).toEqual([201, 413]);
    const refused = results.find((r) => 'status' in r && r.status === 413) as { body: string };
    expect(JSON.parse(refused.body)).toMatchObject({ code: 'quota_exceeded' });
    expect(await usage(user)).toMatchObject({ used_bytes: 600 * 1024, count: 1 });
    expect(await reservedBytes(user)).toBe(0);
  });

  it('a file one byte over MAX_FILE_SIZE is 413 payload_too_large: no row, no object, no bytes held', async () => {
    const user = await signedInUser(t);
    const res = await uploadFile(t, user.accessToken, pngBytes(MiB + 1), 'big.png');
    expectProblem(res, 413, 'payload_too_large');
    expect(await usage(user)).toMatchObject({ used_bytes: 0, count: 0 });
    expect(await reservedBytes(user)).toBe(0);
    expect(await objectsOf(user)).toEqual([]);
    // the metrics say why
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^tessera_file_uploads_total\{outcome="too_large"\} [1-9]/m);
    expect(metrics.body).toMatch(/^tessera_file_uploads_total\{outcome="quota_exceeded"\} [1-9]/m);
  });
});
