import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough, Readable } from 'node:stream';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import { CloudinaryObjectStorage, parseCloudinaryUrl } from './cloudinary.js';

// No Cloudinary server is reachable here: the SDK is pointed (upload_prefix in CLOUDINARY_URL)
// at this local HTTP server, which records the calls it receives and answers like Cloudinary.
const SECRET = 'shhh-secret';

interface RecordedCall {
  method: string;
  path: string;
  fields: Record<string, string>;
  file: Buffer | null;
  authorization: string | undefined;
}

const calls: RecordedCall[] = [];
let uploadsStarted = 0;
let uploadsAborted = 0;
let server: http.Server;
let prefix: string;

function parseMultipart(body: Buffer, contentType: string): { fields: Record<string, string>; file: Buffer | null } {
  const boundary = /boundary=([^;]+)/.exec(contentType)?.[1];
  const fields: Record<string, string> = {};
  let file: Buffer | null = null;
  if (!boundary) return { fields, file };
  const delimiter = Buffer.from(`--${boundary}`);
  let start = body.indexOf(delimiter);
  while (start !== -1) {
    const next = body.indexOf(delimiter, start + delimiter.length);
    if (next === -1) break;
    const part = body.subarray(start + delimiter.length + 2, next - 2); // after CRLF, before CRLF
    const headerEnd = part.indexOf('\r\n\r\n');
    const headers = part.subarray(0, headerEnd).toString('latin1');
    const content = part.subarray(headerEnd + 4);
    const name = /name="([^"]+)"/.exec(headers)?.[1] ?? '';
    if (/filename="/.test(headers)) file = Buffer.from(content);
    else fields[name] = content.toString('utf8');
    start = next;
  }
  return { fields, file };
}

/** Cloudinary's request signature: SHA-1 of the sorted params and the secret (signature version 2). */
function expectedSignature(fields: Record<string, string>): string {
  const toSign = Object.entries(fields)
    .filter(([k, v]) => !['signature', 'api_key', 'file', 'resource_type'].includes(k) && v !== '')
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([k, v]) => `${k}=${v}`.replace(/&/g, '%26'))
    .join('&');
  return createHash('sha1').update(toSign + SECRET).digest('hex');
}

function answer(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const isUpload = url.pathname.endsWith('/upload') && req.method === 'POST';
    if (isUpload) uploadsStarted += 1;
    const chunks: Buffer[] = [];
    let complete = false;
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('close', () => {
      if (isUpload && !complete) uploadsAborted += 1;
    });
    req.on('end', () => {
      complete = true;
      const body = Buffer.concat(chunks);
      const { fields, file } = req.headers['content-type']?.startsWith('multipart/')
        ? parseMultipart(body, req.headers['content-type'])
        : { fields: Object.fromEntries(url.searchParams), file: null };
      calls.push({ method: req.method ?? '', path: url.pathname, fields, file, authorization: req.headers.authorization });

      if (url.pathname === '/v1_1/demo/ping') return answer(res, 200, { status: 'ok' });
      const upload = /^\/v1_1\/demo\/(image|raw)\/(upload|destroy)$/.exec(url.pathname);
      if (upload) {
        if (fields.signature !== expectedSignature(fields) || fields.api_key !== 'key123') {
          return answer(res, 401, { error: { message: 'Invalid Signature' } });
        }
        if (upload[2] === 'destroy') return answer(res, 200, { result: fields.public_id === 'missing' ? 'not found' : 'ok' });
        return answer(res, 200, {
          public_id: fields.public_id,
          resource_type: upload[1],
          bytes: file?.length ?? 0,
          format: upload[1] === 'image' ? 'webp' : undefined,
        });
      }
      const resource = /^\/v1_1\/demo\/resources\/(image|raw)\/upload\/(.+)$/.exec(url.pathname);
      if (resource) {
        if (decodeURIComponent(resource[2] ?? '') === 'avatars/u1/gone-800') return answer(res, 404, { error: { message: 'Resource not found' } });
        return answer(res, 200, { public_id: resource[2], bytes: 1234, format: 'webp' });
      }
      if (url.pathname === '/v1_1/demo/resources/image/upload' || url.pathname === '/v1_1/demo/resources/raw/upload') {
        const image = url.pathname.includes('/image/');
        if (!image) return answer(res, 200, { resources: [{ public_id: 'files/u1/doc.pdf', bytes: 10, created_at: '2026-01-01T00:00:00Z' }] });
        if (!url.searchParams.get('next_cursor')) {
          return answer(res, 200, {
            resources: [{ public_id: 'avatars/u1/a-800', format: 'webp', bytes: 5, created_at: '2026-01-02T00:00:00Z' }],
            next_cursor: 'page2',
          });
        }
        return answer(res, 200, { resources: [{ public_id: 'avatars/u1/a-200', format: 'webp', bytes: 3, created_at: '2026-01-02T00:00:00Z' }] });
      }
      answer(res, 404, { error: { message: `no route ${url.pathname}` } });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  prefix = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  calls.length = 0;
  uploadsStarted = 0;
  uploadsAborted = 0;
});

function storage(uploadPrefix = prefix) {
  return new CloudinaryObjectStorage(parseCloudinaryUrl(`cloudinary://key123:${SECRET}@demo?upload_prefix=${encodeURIComponent(uploadPrefix)}`), {
    checkTimeoutMs: 1_000,
  });
}

describe('parseCloudinaryUrl', () => {
  it('reads key, secret, cloud name and the optional upload_prefix and CDN', () => {
    expect(parseCloudinaryUrl('cloudinary://k%2B1:s%40c@my-cloud')).toEqual({
      cloudName: 'my-cloud',
      apiKey: 'k+1',
      apiSecret: 's@c',
      uploadPrefix: 'https://api.cloudinary.com',
      secureDistribution: null,
    });
    expect(parseCloudinaryUrl('cloudinary://k:s@c/media.example.com').secureDistribution).toBe('media.example.com');
    expect(() => parseCloudinaryUrl('cloudinary://c')).toThrow(/api_key/);
  });
});

describe('CloudinaryObjectStorage against a recording server', () => {
  it('uploads an avatar as a signed image upload whose public_id is the key without extension', async () => {
    const body = Buffer.from('RIFF....WEBPVP8 pretend');
    const result = await storage().put('avatars/u1/abc123-800.webp', body, { contentType: 'image/webp', public: true });
    expect(result).toEqual({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });

    expect(calls).toHaveLength(1);
    const [call] = calls;
    expect(call).toMatchObject({ method: 'POST', path: '/v1_1/demo/image/upload' });
    expect(call?.fields).toMatchObject({ public_id: 'avatars/u1/abc123-800', type: 'upload', overwrite: '1', invalidate: '1', api_key: 'key123' });
    expect(call?.fields.signature).toBe(expectedSignature(call!.fields));
    expect(call?.file?.equals(body)).toBe(true);
  });

  it('streams other files up as raw uploads keeping the whole key', async () => {
    const chunks = [Buffer.alloc(300_000, 1), Buffer.alloc(300_000, 2)];
    const result = await storage().put('files/u1/doc.pdf', Readable.from(chunks), { contentType: 'application/pdf' });
    expect(result.size).toBe(600_000);
    expect(calls[0]).toMatchObject({ path: '/v1_1/demo/raw/upload' });
    expect(calls[0]?.fields.public_id).toBe('files/u1/doc.pdf');
    expect(calls[0]?.file?.equals(Buffer.concat(chunks))).toBe(true);
  });

  it('cuts the upload off when the source errors half-way: Cloudinary never sees a complete request', async () => {
    const source = new PassThrough();
    const pending = storage().put('files/u1/cut.bin', source, { contentType: 'application/octet-stream' });
    source.write(Buffer.alloc(512 * 1024, 7));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uploadsStarted).toBe(1);
    const boom = new Error('client went away');
    source.destroy(boom);
    await expect(pending).rejects.toBe(boom);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(uploadsAborted).toBe(1);
    expect(calls).toEqual([]); // no request reached its end
  });

  it('refuses a stream past maxBytes with 413', async () => {
    const pending = storage().put('files/u1/big.bin', Readable.from([Buffer.alloc(800), Buffer.alloc(800)]), {
      contentType: 'application/octet-stream',
      maxBytes: 1000,
    });
    await expect(pending).rejects.toMatchObject({ code: 'payload_too_large' });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(calls).toEqual([]);
  });

  it('deletes with a signed destroy of the right resource type, idempotently', async () => {
    const store = storage();
    await store.delete('avatars/u1/abc123-200.webp');
    await store.delete('missing');
    expect(calls.map((c) => [c.path, c.fields.public_id, c.fields.invalidate])).toEqual([
      ['/v1_1/demo/image/destroy', 'avatars/u1/abc123-200', 'true'],
      ['/v1_1/demo/raw/destroy', 'missing', 'true'],
    ]);
    for (const call of calls) expect(call.fields.signature).toBe(expectedSignature(call.fields));
  });

  it('check() pings the Admin API with basic auth', async () => {
    await storage().check();
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ method: 'GET', path: '/v1_1/demo/ping' });
    expect(calls[0]?.authorization).toBe(`Basic ${Buffer.from(`key123:${SECRET}`).toString('base64')}`);
  });

  it('head() reads the resource, null when Cloudinary has none', async () => {
    const store = storage();
    expect(await store.head('avatars/u1/abc-800.webp')).toEqual({ size: 1234, contentType: 'image/webp' });
    expect(await store.head('avatars/u1/gone-800.webp')).toBeNull();
  });

  it('list() pages through images and raw files', async () => {
    const listed = [];
    for await (const item of storage().list('avatars/')) listed.push(item);
    expect(listed.map((i) => [i.key, i.size])).toEqual([
      ['avatars/u1/a-800.webp', 5],
      ['avatars/u1/a-200.webp', 3],
      ['files/u1/doc.pdf', 10], // the recording server ignores the prefix
    ]);
    expect(calls.filter((c) => c.path.endsWith('/image/upload')).map((c) => c.fields.prefix)).toEqual(['avatars/', 'avatars/']);
  });

  it('builds secure delivery URLs (the SDK adds v1/ before a public_id in folders)', () => {
    expect(storage().publicUrl('avatars/u1/abc-800.webp')).toBe('https://res.cloudinary.com/demo/image/upload/v1/avatars/u1/abc-800.webp');
    expect(storage().publicUrl('files/u1/doc.pdf')).toBe('https://res.cloudinary.com/demo/raw/upload/v1/files/u1/doc.pdf');
  });

  it('has no signed download URLs', async () => {
    expect(await storage().signedDownloadUrl('files/u1/doc.pdf')).toBeNull();
  });

  it('answers storage_unavailable fast when the API cannot be reached', async () => {
    const probe = http.createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const deadPrefix = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
    await new Promise((resolve) => probe.close(resolve));
    const dead = storage(deadPrefix);
    const started = Date.now();
    for (const attempt of [
      () => dead.check(),
      () => dead.put('avatars/u1/a-800.webp', Buffer.from('x'), { contentType: 'image/webp' }),
      () => dead.put('files/u1/a', Readable.from([Buffer.from('x')]), { contentType: 'text/plain' }),
      () => dead.delete('avatars/u1/a-800.webp'),
      () => dead.head('avatars/u1/a-800.webp'),
    ]) {
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'storage_unavailable' });
    }
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('refuses invalid keys before any request', async () => {
    await expect(storage().put('../x.webp', Buffer.from('x'), { contentType: 'image/webp' })).rejects.toMatchObject({ status: 400 });
    expect(calls).toEqual([]);
  });
});
