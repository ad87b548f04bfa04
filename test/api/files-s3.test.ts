import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, expectProblem, signedInUser, type SignedIn } from '../helpers/auth.js';
import { generatedBytes, pngBytes, streamUpload, uploadFile, type FileBody } from '../helpers/files.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const BUCKET = 'tessera-files';
const MiB = 1024 * 1024;

describe(`files on an S3-compatible store (${BACKEND})`, () => {
  let dir: string;
  let s3: S3rver;
  let t: TestApp;
  let port: number;
  let user: SignedIn;
  let s3Port: number;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-s3rver-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    const address = await s3.run();
    s3Port = address.port;
    t = await createTestApp({
      env: {
        ...AUTH_TEST_ENV,
        STORAGE_PROVIDER: 's3',
        AWS_S3_BUCKET: BUCKET,
        AWS_S3_ENDPOINT: `http://127.0.0.1:${address.port}`,
        AWS_S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'us-east-1',
      },
    });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
    user = await signedInUser(t);
  });

  afterAll(async () => {
    await t?.close();
    s3?.httpServer?.closeAllConnections();
    await s3?.close().catch(() => undefined);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('an upload goes to the bucket; the download is a 302 to a presigned URL that serves it as an attachment', async () => {
    const data = pngBytes(200 * 1024);
    const res = await uploadFile(t, user.accessToken, data, 'été photo.png');
    expect(res.statusCode, res.body).toBe(201);
    const file = res.json<FileBody>();
    expect(t.container.storage.kind).toBe('s3');
    expect((await t.container.storage.head(`files/${user.id}/${file.id}`))?.size).toBe(data.length);

    const content = await t.app.inject({ url: `/api/v1/files/${file.id}/content`, headers: bearer(user.accessToken) });
    expect(content.statusCode).toBe(302);
    expect(content.headers['cache-control']).toBe('no-store');
    const location = new URL(String(content.headers.location));
    expect(location.searchParams.get('X-Amz-Expires')).toBe('300');
    const fetched = await fetch(location);
    expect(fetched.status).toBe(200);
    expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);
    expect(fetched.headers.get('content-disposition')).toMatch(/^attachment; .*filename\*=UTF-8''%C3%A9t%C3%A9%20photo\.png/);

    // a client that has it already is not sent anywhere
    const cached = await t.app.inject({ url: `/api/v1/files/${file.id}/content`, headers: { ...bearer(user.accessToken), 'if-none-match': `"${file.sha256}"` } });
    expect(cached.statusCode).toBe(304);

    expect((await t.app.inject({ method: 'DELETE', url: `/api/v1/files/${file.id}`, headers: bearer(user.accessToken) })).statusCode).toBe(204);
    expect(await t.container.storage.head(`files/${user.id}/${file.id}`)).toBeNull();
  });

  it('AWS_S3_PRESIGN_ENDPOINT: download URLs are signed for the address browsers reach the store at (a proxy in front of it)', async () => {
    // What nginx does in the compose file: publishes the store under another address, Host passed on.
    const seen: string[] = [];
    const proxy = createServer((req, res) => {
      seen.push(`${req.headers.host} ${req.url}`);
      const upstream = httpRequest({ host: '127.0.0.1', port: s3Port, method: req.method, path: req.url, headers: req.headers }, (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      });
      upstream.on('error', () => res.destroy());
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    const proxyOrigin = `http://localhost:${(proxy.address() as AddressInfo).port}`;
    const behind = await createTestApp({ sameStoresAs: t, env: { AWS_S3_PRESIGN_ENDPOINT: proxyOrigin } });
    try {
      const data = pngBytes(64 * 1024);
      const res = await uploadFile(behind, user.accessToken, data, 'behind.png');
      expect(res.statusCode, res.body).toBe(201);
      const file = res.json<FileBody>();
      const content = await behind.app.inject({ url: `/api/v1/files/${file.id}/content`, headers: bearer(user.accessToken) });
      expect(content.statusCode).toBe(302);
      const location = new URL(String(content.headers.location));
      expect(location.origin).toBe(proxyOrigin);
      expect(location.pathname).toBe(`/${BUCKET}/files/${user.id}/${file.id}`);
      expect(location.searchParams.get('X-Amz-SignedHeaders')).toBe('host');
      const fetched = await fetch(location);
      expect(fetched.status).toBe(200);
      expect(Buffer.from(await fetched.arrayBuffer()).equals(data)).toBe(true);
      expect(seen).toEqual([`${location.host} ${location.pathname}${location.search}`]);
      // the app itself still talks to the store directly
      expect((await behind.container.storage.head(`files/${user.id}/${file.id}`))?.size).toBe(data.length);
    } finally {
      await behind.close();
      proxy.closeAllConnections();
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('a 12 MB upload goes up in parts (multipart upload) and comes back whole', async () => {
    const size = 12 * MiB;
    const upload = streamUpload(port, user.accessToken, generatedBytes(size), { filename: 'big.png', size });
    const result = await upload.done;
    expect('status' in result && result.status, JSON.stringify(result)).toBe(201);
    const file = JSON.parse((result as { body: string }).body) as FileBody;
    expect(file.size).toBe(size);
    expect((await t.container.storage.head(`files/${user.id}/${file.id}`))?.size).toBe(size);
  });

  it('the S3 server stopped during an upload: 503 storage_unavailable, no row, no bytes held', async () => {
    const victim = await signedInUser(t);
    const size = 16 * MiB;
    let sent = 0;
    async function* counted(): AsyncGenerator<Buffer> {
      for await (const chunk of generatedBytes(size, { pauseMs: 1 })) {
        sent += chunk.length;
        yield chunk;
      }
    }
    const upload = streamUpload(port, victim.accessToken, counted(), { filename: 'doomed.png', size });
    while (sent < 7 * MiB) await new Promise((resolve) => setTimeout(resolve, 20));
    s3.httpServer?.closeAllConnections();
    await s3.close();
    const result = await upload.done;
    expect('status' in result, JSON.stringify(result)).toBe(true);
    const { status, body } = result as { status: number; body: string };
    expect(status).toBe(503);
    expect(JSON.parse(body)).toMatchObject({ code: 'storage_unavailable', status: 503 });
    const rows = await t.container.database.db.selectFrom('files').select('id').where('user_id', '=', victim.id).execute();
    expect(rows).toEqual([]);
    const reservations = await t.container.database.db.selectFrom('storage_reservations').select('id').where('user_id', '=', victim.id).execute();
    expect(reservations).toEqual([]);
    const usage = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(victim.accessToken) });
    expect(usage.json()).toMatchObject({ used_bytes: 0, count: 0 });
    // while the store is down, uploads are refused the same way, not with a 500
    expectProblem(await uploadFile(t, victim.accessToken, pngBytes(1000), 'later.png'), 503, 'storage_unavailable');
  });
});
