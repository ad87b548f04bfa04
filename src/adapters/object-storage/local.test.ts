import { mkdtemp, readdir, readFile, rm, stat, symlink, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { createHash } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import { LocalObjectStorage } from './local.js';
import { InvalidObjectKeyError } from './object-key.js';
import { ObjectNotFoundError, type ObjectStorage } from './object-storage.js';

let dir: string;
let storage: LocalObjectStorage;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-local-'));
  storage = new LocalObjectStorage(path.join(dir, 'uploads'), { publicUrl: 'https://tessera.example/' });
  await storage.init();
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function collect(iterable: AsyncIterable<{ key: string }>): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of iterable) keys.push(item.key);
  return keys;
}

/** every file under the root, temporary ones included */
async function filesUnder(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => path.relative(root, path.join(e.parentPath, e.name)));
}

describe('LocalObjectStorage', () => {
  it('puts a stream and reads it back whole, with its size and SHA-256', async () => {
    const body = Buffer.from('hello, tessera');
    const result = await storage.put('files/u1/a.txt', Readable.from([body.subarray(0, 5), body.subarray(5)]), { contentType: 'text/plain' });
    expect(result).toEqual({ size: body.length, sha256: createHash('sha256').update(body).digest('hex') });

    const object = await storage.get('files/u1/a.txt');
    expect(object.size).toBe(body.length);
    expect(object.contentLength).toBe(body.length);
    expect(object.range).toBeNull();
    expect(object.contentType).toBe('text/plain; charset=utf-8');
    expect(await text(object.stream)).toBe('hello, tessera');
  });

  it('puts a Buffer and reads a range of it, the end clamped to the object', async () => {
    await storage.put('avatars/u1/abc-800.webp', Buffer.from('0123456789'), { contentType: 'image/webp', public: true });
    const part = await storage.get('avatars/u1/abc-800.webp', { start: 2, end: 5 });
    expect(await text(part.stream)).toBe('2345');
    expect(part).toMatchObject({ size: 10, contentLength: 4, range: { start: 2, end: 5 }, contentType: 'image/webp' });

    const tail = await storage.get('avatars/u1/abc-800.webp', { start: 7, end: 999 });
    expect(await text(tail.stream)).toBe('789');
    expect(tail.range).toEqual({ start: 7, end: 9 });
  });

  it('refuses a range that starts past the end with 416 and the size', async () => {
    await storage.put('a/b.bin', Buffer.from('abc'), { contentType: 'application/octet-stream' });
    const err = await storage.get('a/b.bin', { start: 3, end: 10 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).status).toBe(416);
    expect((err as AppError).headers).toEqual({ 'Content-Range': 'bytes */3' });
  });

  it('head, delete (twice) and get of a missing object', async () => {
    await storage.put('a/b.png', Buffer.from('x'), { contentType: 'image/png' });
    expect(await storage.head('a/b.png')).toEqual({ size: 1, contentType: 'image/png' });
    await storage.delete('a/b.png');
    await storage.delete('a/b.png');
    expect(await storage.head('a/b.png')).toBeNull();
    await expect(storage.get('a/b.png')).rejects.toBeInstanceOf(ObjectNotFoundError);
    await expect(storage.get('a/b.png')).rejects.toMatchObject({ status: 404 });
  });

  it('stores an empty stream as an empty object', async () => {
    expect(await storage.put('a/empty.txt', Readable.from([]), { contentType: 'text/plain' })).toEqual({
      size: 0,
      sha256: createHash('sha256').digest('hex'),
    });
    expect(await storage.head('a/empty.txt')).toEqual({ size: 0, contentType: 'text/plain; charset=utf-8' });
  });

  it('replaces an object in place', async () => {
    await storage.put('a/b.txt', Buffer.from('one'), { contentType: 'text/plain' });
    await storage.put('a/b.txt', Readable.from([Buffer.from('two!')]), { contentType: 'text/plain' });
    expect(await text((await storage.get('a/b.txt')).stream)).toBe('two!');
  });

  it('lists by prefix, recursively, in key order, without temporary files', async () => {
    for (const key of ['avatars/u1/b.webp', 'avatars/u1/a.webp', 'avatars/u2/c.webp', 'files/u1/d.txt', 'avatars-old/x.webp']) {
      await storage.put(key, Buffer.from(key), { contentType: 'image/webp' });
    }
    await writeFile(path.join(storage.root, 'avatars', 'u1', '.a.webp.123.tmp'), 'partial');
    expect(await collect(storage.list())).toEqual([
      'avatars-old/x.webp',
      'avatars/u1/a.webp',
      'avatars/u1/b.webp',
      'avatars/u2/c.webp',
      'files/u1/d.txt',
    ]);
    expect(await collect(storage.list('avatars/'))).toEqual(['avatars/u1/a.webp', 'avatars/u1/b.webp', 'avatars/u2/c.webp']);
    expect(await collect(storage.list('avatars/u1/'))).toEqual(['avatars/u1/a.webp', 'avatars/u1/b.webp']);
    expect(await collect(storage.list('avatars/u1/b'))).toEqual(['avatars/u1/b.webp']);
    expect(await collect(storage.list('nothing/'))).toEqual([]);

    const [first] = await (async () => {
      const all = [];
      for await (const item of storage.list('files/')) all.push(item);
      return all;
    })();
    expect(first).toMatchObject({ key: 'files/u1/d.txt', size: 'files/u1/d.txt'.length });
    expect(first?.lastModified).toBeInstanceOf(Date);
  });

  it('refuses keys that could escape the root or are malformed, touching nothing', async () => {
    const bad = [
      '../outside.txt',
      'a/../../outside.txt',
      '/etc/passwd',
      'a\\..\\b',
      'a//b',
      'a/./b',
      'a/',
      '',
      'nul\u0000byte',
      'new\nline',
      '.hidden',
      'a/.tmp',
      `${'x'.repeat(200)}/${'x'.repeat(200)}/${'x'.repeat(111)}`, // 513 bytes
      'x'.repeat(201), // one segment past 200 bytes
      'é'.repeat(101), // 202 bytes
      'lone\uD800surrogate',
    ];
    for (const key of bad) {
      await expect(storage.put(key, Buffer.from('x'), { contentType: 'text/plain' }), key).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(storage.get(key), key).rejects.toBeInstanceOf(InvalidObjectKeyError);
      await expect(storage.delete(key), key).rejects.toMatchObject({ status: 400 });
      expect(() => storage.publicUrl(key), key).toThrow(InvalidObjectKeyError);
    }
    await expect(collect(storage.list('../'))).rejects.toBeInstanceOf(InvalidObjectKeyError);
    expect(await readdir(dir)).toEqual(['uploads']);
    expect(await filesUnder(storage.root)).toEqual([]);
    // a key of exactly 512 bytes, segments of 200, is fine
    await storage.put(`${'k'.repeat(200)}/${'k'.repeat(200)}/${'k'.repeat(110)}`, Buffer.from('x'), { contentType: 'text/plain' });
  });

  it('does not follow a symbolic link out of the root when listing', async () => {
    await writeFile(path.join(dir, 'secret.txt'), 'secret');
    await symlink(dir, path.join(storage.root, 'escape'));
    expect(await collect(storage.list())).toEqual([]);
  });

  it('leaves no file when the source stream errors half-way, and rejects with its error', async () => {
    const source = new PassThrough();
    const pending = storage.put('files/u1/big.bin', source, { contentType: 'application/octet-stream' });
    source.write(Buffer.alloc(256 * 1024, 1));
    await new Promise((r) => setTimeout(r, 20));
    const boom = new Error('client went away');
    source.destroy(boom);
    await expect(pending).rejects.toBe(boom);
    expect(await filesUnder(storage.root)).toEqual([]);
    expect(await storage.head('files/u1/big.bin')).toBeNull();
  });

  it('leaves no file when the source fails before the file is even open', async () => {
    for (let i = 0; i < 20; i++) {
      const source = new Readable({
        read() {
          this.destroy(new Error('early'));
        },
      });
      await expect(storage.put(`files/u1/early-${i}.bin`, source, { contentType: 'application/octet-stream' })).rejects.toThrow('early');
    }
    expect(await filesUnder(storage.root)).toEqual([]);
  });

  it('leaves no file when the source is destroyed without an error', async () => {
    const source = new PassThrough();
    const pending = storage.put('files/u1/big.bin', source, { contentType: 'application/octet-stream' });
    source.write(Buffer.alloc(1024, 1));
    await new Promise((r) => setTimeout(r, 20));
    source.destroy();
    await expect(pending).rejects.toThrow(/closed before its end|premature/i);
    expect(await filesUnder(storage.root)).toEqual([]);
  });

  it('keeps the previous object when a replacement fails', async () => {
    await storage.put('a/keep.txt', Buffer.from('old'), { contentType: 'text/plain' });
    const source = new PassThrough();
    const pending = storage.put('a/keep.txt', source, { contentType: 'text/plain' });
    source.write('new but partial');
    source.destroy(new Error('nope'));
    await expect(pending).rejects.toThrow('nope');
    expect(await text((await storage.get('a/keep.txt')).stream)).toBe('old');
    expect(await filesUnder(storage.root)).toEqual([path.join('a', 'keep.txt')]);
  });

  it('refuses a body past maxBytes with 413 while streaming, and one shorter than contentLength', async () => {
    const tooBig = storage.put('a/big.bin', Readable.from([Buffer.alloc(600), Buffer.alloc(600)]), { contentType: 'x/y', maxBytes: 1000 });
    await expect(tooBig).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    const short = storage.put('a/short.bin', Readable.from([Buffer.alloc(10)]), { contentType: 'x/y', contentLength: 11 });
    await expect(short).rejects.toMatchObject({ status: 400 });
    await expect(storage.put('a/buf.bin', Buffer.alloc(1001), { contentType: 'x/y', maxBytes: 1000 })).rejects.toMatchObject({ status: 413 });
    expect(await filesUnder(storage.root)).toEqual([]);
  });

  it('stores public objects world-readable and serves only those through getPublic', async () => {
    await storage.put('avatars/u1/a.webp', Buffer.from('pub'), { contentType: 'image/webp', public: true });
    await storage.put('files/u1/b.txt', Buffer.from('priv'), { contentType: 'text/plain' });
    expect((await stat(path.join(storage.root, 'avatars/u1/a.webp'))).mode & 0o777).toBe(0o644);
    expect((await stat(path.join(storage.root, 'files/u1/b.txt'))).mode & 0o777).toBe(0o600);
    expect(await text((await storage.getPublic('avatars/u1/a.webp')).stream)).toBe('pub');
    await expect(storage.getPublic('files/u1/b.txt')).rejects.toBeInstanceOf(ObjectNotFoundError);
    expect(await text((await storage.get('files/u1/b.txt')).stream)).toBe('priv');
  });

  it('builds public URLs under /uploads and has no signed URLs', async () => {
    expect(storage.publicUrl('avatars/u1/a b#c.webp')).toBe('https://tessera.example/uploads/avatars/u1/a%20b%23c.webp');
    const typed: ObjectStorage = storage;
    expect(await typed.signedDownloadUrl('files/u1/x', { expiresInSeconds: 60, filename: 'x.pdf', contentType: 'application/pdf' })).toBeNull();
  });

  it('check() writes and removes a probe', async () => {
    await storage.check();
    expect(await readdir(storage.root)).toEqual([]);
  });

  it('writes big streams to disk without holding them', async () => {
    const chunk = Buffer.alloc(1024 * 1024, 7);
    let sent = 0;
    const source = new Readable({
      read() {
        sent += 1;
        this.push(sent <= 20 ? chunk : null);
      },
    });
    const result = await storage.put('files/u1/20mb.bin', source, { contentType: 'application/octet-stream' });
    expect(result.size).toBe(20 * 1024 * 1024);
    const bytes = await readFile(path.join(storage.root, 'files/u1/20mb.bin'));
    expect(bytes.length).toBe(20 * 1024 * 1024);
  });
});
