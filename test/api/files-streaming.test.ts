import { existsSync, readdirSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, signedInUser, type SignedIn } from '../helpers/auth.js';
import { fileRowsOf, generatedBytes, streamUpload, reservationsOf, type FileBody } from '../helpers/files.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const MiB = 1024 * 1024;

async function until(check: () => Promise<boolean>, timeoutMs = 15_000): Promise<void> {
  const start = Date.now();
  while (!(await check())) {
    if (Date.now() - start > timeoutMs) throw new Error('condition not reached in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe(`files: streamed uploads on a listening server (${BACKEND})`, () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ env: AUTH_TEST_ENV }); // MAX_FILE_SIZE 100 MB, the seed's default
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  const rowsOf = (user: SignedIn) => fileRowsOf(t, user.id);
  const heldBy = (user: SignedIn) => reservationsOf(t, user.id);
  /** everything in the user's folder of the local store, temporary files included */
  const filesOnDisk = (user: SignedIn) => {
    const folder = path.join(t.config.dataDir, 'uploads', 'files', user.id);
    return existsSync(folder) ? readdirSync(folder) : [];
  };

  it('a chunked upload (no Content-Length) of 3 MB is stored whole, with the right size and hash', async () => {
    const user = await signedInUser(t);
    const upload = streamUpload(port, user.accessToken, generatedBytes(3 * MiB + 7), { filename: 'chunked.png' });
    const result = await upload.done;
    expect('status' in result && result.status, JSON.stringify(result)).toBe(201);
    const file = JSON.parse((result as { body: string }).body) as FileBody;
    expect(file).toMatchObject({ size: 3 * MiB + 7, content_type: 'image/png' });
    const content = await t.app.inject({ url: `/api/v1/files/${file.id}/content`, headers: bearer(user.accessToken) });
    expect(content.rawPayload.length).toBe(3 * MiB + 7);
  });

  it('a 101 MB upload is refused with 413 while streaming: the client gets the answer; no row, no object, no bytes held', async () => {
    const user = await signedInUser(t);
    const size = 101 * MiB;
    const rssBefore = process.memoryUsage().rss;
    const upload = streamUpload(port, user.accessToken, generatedBytes(size), { filename: 'huge.png', size });
    const result = await upload.done;
    expect('status' in result, JSON.stringify(result)).toBe(true);
    const { status, body } = result as { status: number; body: string };
    expect(status).toBe(413);
    expect(JSON.parse(body)).toMatchObject({ code: 'payload_too_large', status: 413 });
    // streamed, not buffered: the process did not grow by anything like the file
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(64 * MiB);
    await until(async () => (await heldBy(user)) === 0);
    expect(await rowsOf(user)).toBe(0);
    expect(filesOnDisk(user)).toEqual([]);
  });

  it('a client that disconnects half-way leaves no row, no object (not even a partial one) and no bytes held', async () => {
    const user = await signedInUser(t);
    let sent = 0;
    async function* halfThenHang(): AsyncGenerator<Buffer> {
      for await (const chunk of generatedBytes(2 * MiB)) {
        sent += chunk.length;
        yield chunk;
      }
      await new Promise(() => undefined); // never sends the rest
    }
    const upload = streamUpload(port, user.accessToken, halfThenHang(), { filename: 'half.png', size: 4 * MiB });
    // the server has begun: it holds quota for the upload and is writing it
    await until(async () => (await heldBy(user)) > 0 && sent >= 2 * MiB);
    await new Promise((resolve) => setTimeout(resolve, 200));
    upload.request.destroy();
    const result = await upload.done;
    expect('error' in result).toBe(true);
    await until(async () => (await heldBy(user)) === 0);
    await until(async () => filesOnDisk(user).length === 0);
    expect(await rowsOf(user)).toBe(0);
    const usage = await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(user.accessToken) });
    expect(usage.json()).toMatchObject({ used_bytes: 0, count: 0 });
    const metrics = await t.app.inject({ url: '/metrics' });
    expect(metrics.body).toMatch(/^tessera_file_uploads_total\{outcome="aborted"\} [1-9]/m);
    // and the server still serves
    expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('a 1 MB field name after the file (a text field or a second file) is 422, as before it, and stores nothing', async () => {
    const user = await signedInUser(t);
    for (const filename of ['', '; filename="b.txt"']) {
      const boundary = `----tessera${Date.now()}`;
      const request = httpRequest({
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/api/v1/files',
        headers: { 'content-type': `multipart/form-data; boundary=${boundary}`, ...bearer(user.accessToken) },
      });
      const answer = new Promise<{ status: number; body: string }>((resolve, reject) => {
        request.on('response', (res) => {
          let body = '';
          res.setEncoding('utf8').on('data', (c: string) => (body += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        request.on('error', reject);
      });
      // The file arrives first, on its own; the rest of the form only once the server is storing it.
      request.write(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nhello`);
      await new Promise((resolve) => setTimeout(resolve, 200));
      request.end(`\r\n--${boundary}\r\nContent-Disposition: form-data; name="${'f'.repeat(1024 * 1024)}"${filename}\r\n\r\nworld\r\n--${boundary}--\r\n`);
      const { status, body } = await answer;
      expect(status, body).toBe(422);
      expect(JSON.parse(body)).toMatchObject({ code: 'validation_failed' });
    }
    await until(async () => (await heldBy(user)) === 0);
    expect(await rowsOf(user)).toBe(0);
    expect(filesOnDisk(user)).toEqual([]);
  });
});
