import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_TEST_ENV, bearer, signedInUser, type SignedIn } from '../helpers/auth.js';
import { fileRowsOf, generatedBytes, pngBytes, streamUpload, reservationsOf, type FileBody } from '../helpers/files.js';
import { multipartFileHead } from '../helpers/multipart.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A request written by hand on a socket: the head, then `body` in `pieces` parts `pauseMs`
 * apart, stopping after `stopAfter` parts (then silent). Resolves with what came back, the
 * moment the server closes.
 */
function slowRequest(
  port: number,
  options: { method: string; path: string; headers: Record<string, string | number>; body: Buffer; pieces: number; pauseMs: number; stopAfter?: number },
): Promise<{ raw: string; ms: number; closed: boolean }> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket = connect(port, '127.0.0.1');
    let raw = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (raw += d));
    socket.on('error', () => undefined);
    socket.on('close', () => resolve({ raw, ms: Date.now() - started, closed: true }));
    const head = `${options.method} ${options.path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${Object.entries(options.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`;
    socket.write(head);
    void (async () => {
      const size = Math.ceil(options.body.length / options.pieces);
      for (let i = 0; i < options.pieces; i++) {
        if (options.stopAfter !== undefined && i >= options.stopAfter) return;
        if (socket.destroyed) return;
        socket.write(options.body.subarray(i * size, (i + 1) * size));
        await sleep(options.pauseMs);
      }
    })();
    // a client that never gives up would hang the test: give up after 20 s
    setTimeout(() => socket.destroy(), 20_000).unref();
  });
}

function statusAndBody(raw: string): { status: number; headers: string; body: Record<string, unknown> | null } {
  const [head = '', body = ''] = raw.split('\r\n\r\n');
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(head)?.[1] ?? 0);
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(body) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status, headers: head.toLowerCase(), body: json };
}

describe(`request deadlines: REQUEST_TIMEOUT_MS for bodies, uploads while bytes keep coming (${BACKEND})`, () => {
  let t: TestApp;
  let port: number;

  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, REQUEST_TIMEOUT_MS: '1000', UPLOAD_IDLE_TIMEOUT_MS: '1000', UPLOAD_TIMEOUT_MS: '4000' } });
    await t.app.listen({ port: 0, host: '127.0.0.1' });
    port = (t.app.server.address() as AddressInfo).port;
  });
  afterAll(() => t?.close());

  const rowsOf = (user: SignedIn) => fileRowsOf(t, user.id);
  /** One file as multipart/form-data, written slowly, declaring `missing` bytes more than it sends: it never completes. */
  const slowUpload = (user: SignedIn, method: 'POST' | 'PUT', path: string, content: Buffer, pace: { missing: number; pieces: number; pauseMs: number }) => {
    const { head, contentType } = multipartFileHead('file', 'upload.png', 'image/png');
    const body = Buffer.concat([head, content]);
    const headers = { authorization: `Bearer ${user.accessToken}`, 'content-type': contentType, 'content-length': body.length + pace.missing };
    return slowRequest(port, { method, path, headers, body, pieces: pace.pieces, pauseMs: pace.pauseMs });
  };
  const heldBy = (user: SignedIn) => reservationsOf(t, user.id);

  it('an upload that takes twice REQUEST_TIMEOUT_MS, bytes arriving all along, is stored whole', async () => {
    const user = await signedInUser(t);
    const started = Date.now();
    // 20 pieces of 8 KiB, 100 ms apart: ~2 s in all, never idle for long
    const upload = streamUpload(port, user.accessToken, generatedBytes(20 * 8192, { chunk: 8192, pauseMs: 100 }), { filename: 'slow.png' });
    const result = await upload.done;
    expect(Date.now() - started).toBeGreaterThan(1500);
    expect('status' in result && result.status, JSON.stringify(result)).toBe(201);
    const file = JSON.parse((result as { body: string }).body) as FileBody;
    expect(file.size).toBe(20 * 8192);
  });

  it('an upload that stops sending for UPLOAD_IDLE_TIMEOUT_MS gets 408 problem+json; no row, no bytes held', async () => {
    const user = await signedInUser(t);
    const result = await slowUpload(user, 'POST', '/api/v1/files', pngBytes(64 * 1024), { missing: 1_000_000, pieces: 4, pauseMs: 100 });
    const answer = statusAndBody(result.raw);
    expect(answer.status, result.raw).toBe(408);
    expect(answer.headers).toContain('content-type: application/problem+json');
    expect(answer.body).toMatchObject({ status: 408, code: 'request_timeout' });
    // cut after about a second of silence, not at once and not never
    expect(result.ms).toBeGreaterThan(1000);
    expect(result.ms).toBeLessThan(8000);
    await expect.poll(() => heldBy(user), { timeout: 10_000 }).toBe(0);
    expect(await rowsOf(user)).toBe(0);
    expect((await t.app.inject({ url: '/api/v1/files/usage', headers: bearer(user.accessToken) })).json()).toMatchObject({ used_bytes: 0, count: 0 });
  });

  it('an upload still trickling at UPLOAD_TIMEOUT_MS is cut off with 408', async () => {
    const user = await signedInUser(t);
    // 100 pieces, 200 ms apart: 20 s if it were let through
    const result = await slowUpload(user, 'POST', '/api/v1/files', pngBytes(256 * 1024), { missing: 10, pieces: 100, pauseMs: 200 });
    expect(statusAndBody(result.raw).status, result.raw).toBe(408);
    expect(result.ms).toBeGreaterThan(3500);
    expect(result.ms).toBeLessThan(12_000);
    await expect.poll(() => heldBy(user), { timeout: 10_000 }).toBe(0);
    expect(await rowsOf(user)).toBe(0);
  });

  it('a JSON body still arriving after REQUEST_TIMEOUT_MS gets 408, even though bytes keep coming', async () => {
    const body = Buffer.from(JSON.stringify({ email: 'slow@example.com', password: 'x'.repeat(200) }));
    const result = await slowRequest(port, {
      method: 'POST',
      path: '/api/v1/auth/login',
      headers: { 'content-type': 'application/json', 'content-length': body.length },
      body,
      pieces: 20, // 20 pieces 200 ms apart: 4 s
      pauseMs: 200,
    });
    const answer = statusAndBody(result.raw);
    expect(answer.status, result.raw).toBe(408);
    expect(answer.body).toMatchObject({ code: 'request_timeout' });
    expect(result.ms).toBeLessThan(3500);
    // and the server still serves
    expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('an avatar upload is an upload: it may take longer than REQUEST_TIMEOUT_MS, and a stalled one is cut with 408, the profile unchanged', async () => {
    const user = await signedInUser(t);
    // ~1.6 s of steady bytes: past REQUEST_TIMEOUT_MS, then silence
    const stalled = await slowUpload(user, 'PUT', '/api/v1/users/me/avatar', Buffer.alloc(32 * 1024, 1), { missing: 100_000, pieces: 16, pauseMs: 100 });
    expect(statusAndBody(stalled.raw).status, stalled.raw).toBe(408);
    expect(stalled.ms).toBeGreaterThan(2000);
    const profile = await t.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(user.accessToken) });
    expect(profile.json()).toMatchObject({ avatar_url: null });
  });
});
