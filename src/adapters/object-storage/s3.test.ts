import { createHash } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { buffer, text } from 'node:stream/consumers';
import S3rver from 's3rver';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import { attachmentContentDisposition } from './content-disposition.js';
import { ObjectNotFoundError } from './object-storage.js';
import { publicBaseUrl, S3ObjectStorage } from './s3.js';

// A real S3-compatible server (s3rver) on 127.0.0.1, one per file, in a temporary folder.
const BUCKET = 'tessera-test';
let dir: string;
let server: S3rver;
let endpoint: string;
let storage: S3ObjectStorage;

function s3(overrides: Partial<ConstructorParameters<typeof S3ObjectStorage>[0]> = {}): S3ObjectStorage {
  return new S3ObjectStorage({
    bucket: BUCKET,
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    accessKeyId: 'S3RVER',
    secretAccessKey: 'S3RVER',
    ...overrides,
  });
}

async function startS3rver(directory: string, port = 0): Promise<{ server: S3rver; port: number }> {
  const instance = new S3rver({ address: '127.0.0.1', port, silent: true, directory, configureBuckets: [{ name: BUCKET }] });
  const address = await instance.run();
  return { server: instance, port: address.port };
}

async function stopS3rver(instance: S3rver): Promise<void> {
  instance.httpServer?.closeAllConnections();
  await instance.close();
}

/** `size` bytes of a repeating pattern, in 64 KiB chunks, made as they are read */
function patternStream(size: number): Readable {
  let offset = 0;
  return new Readable({
    read() {
      if (offset >= size) return void this.push(null);
      const length = Math.min(64 * 1024, size - offset);
      const chunk = Buffer.alloc(length);
      for (let i = 0; i < length; i++) chunk[i] = (offset + i) % 251;
      offset += length;
      this.push(chunk);
    },
  });
}

function patternBytes(start: number, end: number): Buffer {
  const out = Buffer.alloc(end - start + 1);
  for (let i = 0; i < out.length; i++) out[i] = (start + i) % 251;
  return out;
}

async function keysIn(prefix: string, store = storage): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of store.list(prefix)) keys.push(item.key);
  return keys;
}

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as net.AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-s3-'));
  const started = await startS3rver(dir);
  server = started.server;
  endpoint = `http://127.0.0.1:${started.port}`;
  storage = s3();
});

afterAll(async () => {
  await storage?.close();
  if (server) await stopS3rver(server);
  await rm(dir, { recursive: true, force: true });
});

describe('S3ObjectStorage against s3rver', () => {
  it('check() answers when the bucket is there', async () => {
    await storage.check();
  });

  it('streams 20 MB up as a multipart upload and reads ranges back', async () => {
    const size = 20 * 1024 * 1024;
    const expected = createHash('sha256');
    for (let offset = 0; offset < size; offset += 1024 * 1024) expected.update(patternBytes(offset, offset + 1024 * 1024 - 1));

    const result = await storage.put('files/u1/20mb.bin', patternStream(size), { contentType: 'application/octet-stream' });
    expect(result).toEqual({ size, sha256: expected.digest('hex') });

    expect(await storage.head('files/u1/20mb.bin')).toEqual({ size, contentType: 'application/octet-stream' });

    const middle = await storage.get('files/u1/20mb.bin', { start: 10_000_000, end: 10_000_099 });
    expect(middle).toMatchObject({ size, contentLength: 100, range: { start: 10_000_000, end: 10_000_099 } });
    expect((await buffer(middle.stream)).equals(patternBytes(10_000_000, 10_000_099))).toBe(true);

    const tail = await storage.get('files/u1/20mb.bin', { start: size - 10, end: size + 100 });
    expect(tail.range).toEqual({ start: size - 10, end: size - 1 });
    expect((await buffer(tail.stream)).equals(patternBytes(size - 10, size - 1))).toBe(true);

    const whole = await storage.get('files/u1/20mb.bin');
    expect(whole).toMatchObject({ size, contentLength: size, range: null });
    const hash = createHash('sha256');
    for await (const chunk of whole.stream) hash.update(chunk as Buffer);
    expect(hash.digest('hex')).toBe(result.sha256);
  });

  it('stores an empty stream as an empty object', async () => {
    const result = await storage.put('files/u1/empty.txt', Readable.from([]), { contentType: 'text/plain' });
    expect(result).toEqual({ size: 0, sha256: createHash('sha256').digest('hex') });
    expect(await storage.head('files/u1/empty.txt')).toEqual({ size: 0, contentType: 'text/plain' });
  });

  it('refuses a range past the end with 416 and the size', async () => {
    await storage.put('files/u1/small.txt', Buffer.from('abc'), { contentType: 'text/plain' });
    const err = await storage.get('files/u1/small.txt', { start: 5, end: 9 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect(err).toMatchObject({ status: 416, headers: { 'Content-Range': 'bytes */3' } });
  });

  it('stores a public Buffer with its type and cache header, served at its public URL', async () => {
    const key = 'avatars/u1/abcdef-800.webp';
    const body = Buffer.from('not really webp');
    await storage.put(key, body, { contentType: 'image/webp', cacheControl: 'public, max-age=31536000, immutable', public: true });
    const url = storage.publicUrl(key);
    expect(url).toBe(`${endpoint}/${BUCKET}/${key}`);
    const response = await fetch(url);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('image/webp');
    expect(response.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await response.arrayBuffer()).equals(body)).toBe(true);
  });

  it('signs a download URL that fetch can use, as an attachment with an RFC 6266 name', async () => {
    const key = 'files/u1/report';
    await storage.put(key, Buffer.from('%PDF-1.7 pretend'), { contentType: 'application/pdf' });
    const filename = 'Rapport été "final".pdf';
    const url = await storage.signedDownloadUrl(key, { expiresInSeconds: 300, filename, contentType: 'application/pdf' });
    expect(url).toMatch(/X-Amz-Signature=/);
    const response = await fetch(url!);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-disposition')).toBe(attachmentContentDisposition(filename));
    expect(response.headers.get('content-disposition')).toContain("filename*=UTF-8''Rapport%20%C3%A9t%C3%A9%20%22final%22.pdf");
    expect(response.headers.get('content-type')).toBe('application/pdf');
    expect(await response.text()).toBe('%PDF-1.7 pretend');
    // (s3rver does not check query-string signatures, so a forged URL is not tested here)
    expect(new URL(url!).searchParams.get('X-Amz-Expires')).toBe('300');
  });

  it('leaves no object when the source stream errors after several parts', async () => {
    const key = 'files/u1/broken.bin';
    const source = new PassThrough();
    const pending = storage.put(key, source, { contentType: 'application/octet-stream' });
    for (let i = 0; i < 12; i++) source.write(Buffer.alloc(1024 * 1024, i)); // two 5 MB parts and then some
    await new Promise((resolve) => setTimeout(resolve, 200));
    const boom = new Error('client disconnected');
    source.destroy(boom);
    await expect(pending).rejects.toBe(boom);
    expect(await storage.head(key)).toBeNull();
    expect(await keysIn('files/u1/broken')).toEqual([]);
  });

  it('leaves no object when a small body is cut short of its declared length', async () => {
    const key = 'files/u1/short.bin';
    const pending = storage.put(key, Readable.from([Buffer.alloc(100)]), { contentType: 'application/octet-stream', contentLength: 200 });
    await expect(pending).rejects.toMatchObject({ status: 400 });
    expect(await storage.head(key)).toBeNull();
  });

  it('refuses a stream past maxBytes with 413 and keeps nothing', async () => {
    const key = 'files/u1/too-big.bin';
    const pending = storage.put(key, patternStream(7 * 1024 * 1024), { contentType: 'application/octet-stream', maxBytes: 6 * 1024 * 1024 });
    await expect(pending).rejects.toMatchObject({ code: 'payload_too_large' });
    expect(await storage.head(key)).toBeNull();
  });

  it('head, delete (twice), get and list', async () => {
    await storage.put('lists/a/1.txt', Buffer.from('1'), { contentType: 'text/plain' });
    await storage.put('lists/a/2.txt', Readable.from([Buffer.from('22')]), { contentType: 'text/plain' });
    await storage.put('lists/b/3.txt', Buffer.from('333'), { contentType: 'text/plain' });
    expect(await keysIn('lists/a/')).toEqual(['lists/a/1.txt', 'lists/a/2.txt']);
    const listed = [];
    for await (const item of storage.list('lists/')) listed.push(item);
    expect(listed.map((i) => [i.key, i.size])).toEqual([
      ['lists/a/1.txt', 1],
      ['lists/a/2.txt', 2],
      ['lists/b/3.txt', 3],
    ]);
    expect(listed[0]?.lastModified).toBeInstanceOf(Date);

    expect(await text((await storage.get('lists/a/2.txt')).stream)).toBe('22');
    await storage.delete('lists/a/2.txt');
    await storage.delete('lists/a/2.txt');
    expect(await storage.head('lists/a/2.txt')).toBeNull();
    await expect(storage.get('lists/a/2.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
  });

  it('refuses invalid keys before any request', async () => {
    await expect(storage.put('../x', Buffer.from('x'), { contentType: 'text/plain' })).rejects.toMatchObject({ status: 400 });
    await expect(storage.get('a//b')).rejects.toMatchObject({ status: 400 });
    expect(() => storage.publicUrl('/abs')).toThrow();
  });

  it('fails with storage_unavailable within 5 s when nothing listens', async () => {
    const dead = s3({ endpoint: `http://127.0.0.1:${await freePort()}` });
    for (const attempt of [
      () => dead.check(),
      () => dead.put('a/b.txt', Buffer.from('x'), { contentType: 'text/plain' }),
      () => dead.put('a/c.txt', patternStream(1024), { contentType: 'text/plain' }),
      () => dead.get('a/b.txt'),
      () => dead.head('a/b.txt'),
      () => dead.delete('a/b.txt'),
      () => keysIn('', dead),
    ]) {
      const started = Date.now();
      const err = await attempt().then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(AppError);
      expect(err).toMatchObject({ code: 'storage_unavailable', status: 503 });
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    await dead.close();
  });

  it('fails with storage_unavailable when the server stops mid-upload, and no object appears', async () => {
    const ownDir = await mkdtemp(path.join(os.tmpdir(), 'tessera-s3-stop-'));
    let own = await startS3rver(ownDir);
    const store = s3({ endpoint: `http://127.0.0.1:${own.port}` });
    try {
      const source = new PassThrough();
      const pending = store.put('files/u1/cut.bin', source, { contentType: 'application/octet-stream' });
      for (let i = 0; i < 11; i++) source.write(Buffer.alloc(1024 * 1024, i));
      await new Promise((resolve) => setTimeout(resolve, 300));
      const started = Date.now();
      await stopS3rver(own.server);
      for (let i = 0; i < 6; i++) source.write(Buffer.alloc(1024 * 1024, i));
      source.end();
      const err = await pending.catch((e: unknown) => e);
      expect(err).toMatchObject({ code: 'storage_unavailable' });
      expect(Date.now() - started).toBeLessThan(5_000);
      expect(source.destroyed).toBe(true);

      own = await startS3rver(ownDir, own.port);
      expect(await store.head('files/u1/cut.bin')).toBeNull();
    } finally {
      await store.close();
      await stopS3rver(own.server).catch(() => undefined);
      await rm(ownDir, { recursive: true, force: true });
    }
  });

  it('check() fails for a missing bucket', async () => {
    const missing = s3({ bucket: 'no-such-bucket' });
    await expect(missing.check()).rejects.toMatchObject({ code: 'storage_unavailable' });
    await missing.close();
  });
});

describe('S3 public URLs', () => {
  const base = { bucket: 'avatars', region: 'ap-southeast-1' };

  it('uses the custom (CDN) domain when set', () => {
    expect(publicBaseUrl({ ...base, customDomain: 'cdn.example.com' })).toBe('https://cdn.example.com');
    expect(publicBaseUrl({ ...base, customDomain: 'https://d123.cloudfront.net/', endpoint: 'http://minio:9000' })).toBe('https://d123.cloudfront.net');
  });

  it('uses the endpoint, path-style or virtual-hosted', () => {
    expect(publicBaseUrl({ ...base, endpoint: 'http://minio:9000', forcePathStyle: true })).toBe('http://minio:9000/avatars');
    expect(publicBaseUrl({ ...base, endpoint: 'https://r2.example.com/' })).toBe('https://avatars.r2.example.com');
  });

  it("falls back to AWS's virtual-hosted URL (seed 001)", () => {
    expect(publicBaseUrl(base)).toBe('https://avatars.s3.ap-southeast-1.amazonaws.com');
    expect(publicBaseUrl({ ...base, bucket: 'my.bucket' })).toBe('https://s3.ap-southeast-1.amazonaws.com/my.bucket');
  });

  it('encodes each key segment', () => {
    const store = new S3ObjectStorage({ ...base, customDomain: 'cdn.example.com' });
    expect(store.publicUrl('avatars/u 1/a+b.webp')).toBe('https://cdn.example.com/avatars/u%201/a%2Bb.webp');
  });
});

describe('attachmentContentDisposition', () => {
  it('keeps an ASCII fallback free of quotes and control characters', () => {
    expect(attachmentContentDisposition('a"b\\c%\r\n.txt')).toBe(`attachment; filename="a_b_c_.txt"; filename*=UTF-8''a%22b%5Cc%25.txt`);
    expect(attachmentContentDisposition('日本.pdf')).toBe(`attachment; filename="__.pdf"; filename*=UTF-8''%E6%97%A5%E6%9C%AC.pdf`);
    expect(attachmentContentDisposition('')).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
  });
});
