import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { watchBody } from './body-meter.js';
import { FileSink } from './file-sink.js';

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-sink-'));
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

describe('FileSink', () => {
  it('writes thousands of small chunks in order through its two buffers, flushing on the way', async () => {
    const chunks = Array.from({ length: 5000 }, (_, i) => randomBytes(1 + (i % 97)));
    const whole = Buffer.concat(chunks);
    const file = path.join(dir, 'a', 'b', 'small.bin');
    const sink = new FileSink(file, { mode: 0o600, limits: {}, sync: true, bufferBytes: 4096, syncEveryBytes: 16 * 1024 });
    await pipeline(Readable.from(chunks), sink);
    expect(sink.result()).toEqual({ size: whole.length, sha256: sha256(whole) });
    expect((await readFile(file)).equals(whole)).toBe(true);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
  });

  it('holds the source back while both buffers are busy, and takes chunks larger than both', async () => {
    const chunks = [randomBytes(100), randomBytes(3 * 1024 * 1024), randomBytes(70 * 1024), randomBytes(1)];
    const whole = Buffer.concat(chunks);
    const source = new PassThrough();
    const sink = new FileSink(path.join(dir, 'big.bin'), { mode: 0o644, limits: {}, sync: false, bufferBytes: 64 * 1024 });
    const done = pipeline(source, sink);
    let refused = false;
    for (const chunk of chunks) if (!source.write(chunk)) refused = true;
    source.end();
    await done;
    expect(refused).toBe(true);
    expect(sink.result()).toEqual({ size: whole.length, sha256: sha256(whole) });
    expect((await readFile(path.join(dir, 'big.bin'))).equals(whole)).toBe(true);
  });

  it('never writes a byte past maxBytes: it fails with the 413 as the body error', async () => {
    const file = path.join(dir, 'limit.bin');
    const sink = new FileSink(file, { mode: 0o600, limits: { maxBytes: 1000 }, sync: false });
    const source = Readable.from([Buffer.alloc(600, 1), Buffer.alloc(600, 2)]);
    watchBody(source, sink);
    await expect(pipeline(source, sink)).rejects.toMatchObject({ code: 'payload_too_large', status: 413 });
    expect(sink.bodyError).toMatchObject({ status: 413 });
    expect((await stat(file)).size).toBeLessThanOrEqual(1000);
  });

  it('a store failure (the folder cannot be made) is not the body’s: no body error, the source is stopped', async () => {
    await writeFile(path.join(dir, 'taken'), 'a file where a folder should be');
    const sink = new FileSink(path.join(dir, 'taken', 'x.bin'), { mode: 0o600, limits: {}, sync: true });
    const source = new PassThrough();
    watchBody(source, sink);
    const done = pipeline(source, sink);
    source.write(Buffer.alloc(1024));
    await expect(done).rejects.toMatchObject({ code: 'EEXIST' });
    expect(sink.bodyError).toBeNull();
    expect(source.destroyed).toBe(true);
  });
});
