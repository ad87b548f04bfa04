import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request as httpRequest, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import S3rver from 's3rver';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LocalObjectStorage } from '../../src/adapters/object-storage/local.js';
import { bearer, expectProblem, signedInUser, type SignedIn } from '../helpers/auth.js';
import { photoJpeg, pngBomb, solidPng } from '../helpers/images.js';
import { multipartBody, multipartFileHead, type FormPart } from '../helpers/multipart.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const ENV = { RATE_LIMIT_ENABLED: 'false', ARGON2_MEMORY_KIB: '8192', ARGON2_ITERATIONS: '1' };
const IMMUTABLE = 'public, max-age=31536000, immutable';

interface AvatarUrls {
  avatar_url: string;
  avatar_thumbnail_url: string;
}

function putAvatar(t: TestApp, token: string, parts: FormPart[]) {
  const { payload, headers } = multipartBody(parts);
  return t.app.inject({ method: 'PUT', url: '/api/v1/users/me/avatar', headers: { ...headers, ...bearer(token) }, payload });
}

function imageFile(data: Buffer, filename = 'me.jpg', contentType = 'image/jpeg'): FormPart {
  return { field: 'file', filename, contentType, data };
}

async function ownProfile(t: TestApp, token: string) {
  const res = await t.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(token) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<{ avatar_url: string | null; avatar_thumbnail_url: string | null }>();
}

async function storedKeys(t: TestApp, prefix = 'avatars/'): Promise<string[]> {
  const keys: string[] = [];
  for await (const item of t.container.storage.list(prefix)) keys.push(item.key);
  return keys.sort();
}

/** The path of a local /uploads URL, for app.inject. */
function uploadsPath(url: string): string {
  return new URL(url).pathname;
}

describe(`avatars on local storage (${BACKEND})`, () => {
  let t: TestApp;
  let user: SignedIn;
  let jpeg: Buffer;
  beforeAll(async () => {
    t = await createTestApp({ env: ENV });
    user = await signedInUser(t, { displayName: 'Pic Owner' });
    jpeg = await photoJpeg();
  });
  afterAll(() => t?.close());

  it('PUT /users/me/avatar: an 800×800 WebP and a 200×200 thumbnail, content-addressed, served by /uploads with immutable caching', async () => {
    const res = await putAvatar(t, user.accessToken, [imageFile(jpeg)]);
    expect(res.statusCode, res.body).toBe(200);
    const urls = res.json<AvatarUrls>();
    expect(urls.avatar_url).toMatch(new RegExp(`^http://localhost:8000/uploads/avatars/${user.id}/[0-9a-f]{32}-800\\.webp$`));
    expect(urls.avatar_thumbnail_url).toMatch(new RegExp(`^http://localhost:8000/uploads/avatars/${user.id}/[0-9a-f]{32}-200\\.webp$`));
    expect(await ownProfile(t, user.accessToken)).toMatchObject(urls);

    const big = await t.app.inject(uploadsPath(urls.avatar_url));
    expect(big.statusCode).toBe(200);
    expect(big.headers['content-type']).toBe('image/webp');
    expect(big.headers['cache-control']).toBe(IMMUTABLE);
    expect(big.headers['x-content-type-options']).toBe('nosniff');
    const meta = await sharp(big.rawPayload).metadata();
    expect([meta.format, meta.width, meta.height]).toEqual(['webp', 800, 800]);
    // EXIF (and any other metadata) is gone, orientation applied
    expect(meta.exif).toBeUndefined();
    expect(meta.icc).toBeUndefined();
    expect(meta.xmp).toBeUndefined();
    expect(meta.orientation).toBeUndefined();
    expect(big.rawPayload.includes(Buffer.from('secret-exif-marker'))).toBe(false);

    const thumb = await t.app.inject(uploadsPath(urls.avatar_thumbnail_url));
    const thumbMeta = await sharp(thumb.rawPayload).metadata();
    expect([thumbMeta.format, thumbMeta.width, thumbMeta.height]).toEqual(['webp', 200, 200]);

    const head = await t.app.inject({ method: 'HEAD', url: uploadsPath(urls.avatar_url) });
    expect(head.statusCode).toBe(200);
    expect(head.headers['content-length']).toBe(String(big.rawPayload.length));
  });

  it('a new avatar replaces the old one: the old objects are deleted after the profile points at the new ones', async () => {
    const before = await ownProfile(t, user.accessToken);
    const res = await putAvatar(t, user.accessToken, [imageFile(await solidPng(640, 480), 'new.png', 'image/png')]);
    expect(res.statusCode, res.body).toBe(200);
    const after = res.json<AvatarUrls>();
    expect(after.avatar_url).not.toBe(before.avatar_url);
    expect((await t.app.inject(uploadsPath(before.avatar_url!))).statusCode).toBe(404);
    expect((await t.app.inject(uploadsPath(after.avatar_url))).statusCode).toBe(200);
    expect(await storedKeys(t, `avatars/${user.id}/`)).toHaveLength(2);
  });

  it('the same picture twice keeps its objects (same keys)', async () => {
    const png = await solidPng(300, 300, { r: 1, g: 2, b: 3 });
    const first = (await putAvatar(t, user.accessToken, [imageFile(png, 'a.png', 'image/png')])).json<AvatarUrls>();
    const second = await putAvatar(t, user.accessToken, [imageFile(png, 'a.png', 'image/png')]);
    expect(second.json()).toEqual(first);
    expect((await t.app.inject(uploadsPath(first.avatar_url))).statusCode).toBe(200);
  });

  it('the type comes from the bytes, not the name or the declared type', async () => {
    const png = await solidPng(100, 100);
    const res = await putAvatar(t, user.accessToken, [imageFile(png, 'looks-like.gif', 'text/html')]);
    expect(res.statusCode, res.body).toBe(200);
  });

  it('DELETE removes the avatar and its objects (204, idempotent)', async () => {
    const current = await ownProfile(t, user.accessToken);
    expect(current.avatar_url).not.toBeNull();
    const res = await t.app.inject({ method: 'DELETE', url: '/api/v1/users/me/avatar', headers: bearer(user.accessToken) });
    expect(res.statusCode).toBe(204);
    expect(await ownProfile(t, user.accessToken)).toMatchObject({ avatar_url: null, avatar_thumbnail_url: null });
    expect((await t.app.inject(uploadsPath(current.avatar_url!))).statusCode).toBe(404);
    expect(await storedKeys(t, `avatars/${user.id}/`)).toEqual([]);
    const again = await t.app.inject({ method: 'DELETE', url: '/api/v1/users/me/avatar', headers: bearer(user.accessToken) });
    expect(again.statusCode).toBe(204);
  });

  it('needs a token', async () => {
    expectProblem(await t.app.inject({ method: 'PUT', url: '/api/v1/users/me/avatar', ...multipartBody([imageFile(jpeg)]) }), 401, 'unauthorized');
    expectProblem(await t.app.inject({ method: 'DELETE', url: '/api/v1/users/me/avatar' }), 401, 'unauthorized');
  });

  describe('bad input: 4xx problem+json, nothing stored, the profile unchanged', () => {
    let victim: SignedIn;
    let before: AvatarUrls;
    beforeAll(async () => {
      victim = await signedInUser(t);
      before = (await putAvatar(t, victim.accessToken, [imageFile(await solidPng(64, 64))])).json<AvatarUrls>();
    });

    async function expectUnchanged() {
      expect(await ownProfile(t, victim.accessToken)).toMatchObject(before);
      expect(await storedKeys(t, `avatars/${victim.id}/`)).toHaveLength(2);
    }

    const truncatedJpeg = async () => {
      const whole = await photoJpeg(800, 600);
      return whole.subarray(0, Math.floor(whole.length / 2));
    };

    const svg = '<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><script>alert(2)</script></svg>';
    const polyglot = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('<html><body><script>alert(document.cookie)</script></body></html>')]);
    it.each<{ what: string; status: number; code: string; parts: () => Promise<FormPart[]> | FormPart[] }>([
      { what: 'a text file named .jpg', status: 415, code: 'unsupported_media_type', parts: () => [imageFile(Buffer.from('just some text, honest\n'.repeat(20)), 'photo.jpg')] },
      { what: 'a truncated JPEG', status: 422, code: 'invalid_image', parts: async () => [imageFile(await truncatedJpeg())] },
      { what: 'a 30000×30000 PNG decompression bomb', status: 422, code: 'invalid_image', parts: () => [imageFile(pngBomb(), 'bomb.png', 'image/png')] },
      { what: 'an SVG with script', status: 415, code: 'unsupported_media_type', parts: () => [imageFile(Buffer.from(svg), 'a.svg', 'image/svg+xml')] },
      { what: 'a JPEG/HTML polyglot', status: 422, code: 'invalid_image', parts: () => [imageFile(polyglot, 'a.html', 'text/html')] },
      { what: 'a GIF', status: 415, code: 'unsupported_media_type', parts: () => [imageFile(Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'), 'a.gif', 'image/gif')] },
      // A few hundred bytes: cover-cropping scales the short side to 800, through billions of pixels.
      { what: 'a 5000×10 PNG (a sliver cover-cropping would blow up)', status: 422, code: 'invalid_image', parts: async () => [imageFile(await solidPng(5000, 10), 'sliver.png', 'image/png')] },
      { what: 'an empty file', status: 415, code: 'unsupported_media_type', parts: () => [imageFile(Buffer.alloc(0))] },
      { what: 'no file at all', status: 422, code: 'validation_failed', parts: () => [{ field: 'note', data: 'hello' }] },
      { what: 'two files', status: 422, code: 'validation_failed', parts: async () => [imageFile(await solidPng(10, 10)), imageFile(await solidPng(20, 20))] },
      { what: 'the file in another field', status: 422, code: 'validation_failed', parts: async () => [{ ...imageFile(await solidPng(10, 10)), field: 'avatar' }] },
    ])('$what → $status $code', async ({ status, code, parts }) => {
      const res = await putAvatar(t, victim.accessToken, await parts());
      const body = expectProblem(res, status, code);
      expect((body.errors as { field: string }[] | undefined)?.map((e) => e.field)).toContain('file');
      await expectUnchanged();
    });

    it('a body that is not multipart: 415', async () => {
      const res = await t.app.inject({ method: 'PUT', url: '/api/v1/users/me/avatar', headers: bearer(victim.accessToken), payload: { file: 'x' } });
      expectProblem(res, 415, 'unsupported_media_type');
      const raw = await t.app.inject({ method: 'PUT', url: '/api/v1/users/me/avatar', headers: { ...bearer(victim.accessToken), 'content-type': 'image/jpeg' }, payload: jpeg });
      expectProblem(raw, 415, 'unsupported_media_type');
      await expectUnchanged();
    });

    it('a malformed multipart body: 400', async () => {
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: { ...bearer(victim.accessToken), 'content-type': 'multipart/form-data; boundary=abc' },
        payload: '--abc\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\nno end',
      });
      expectProblem(res, 400, 'bad_request');
      await expectUnchanged();
    });

    it('a 6 MB image: 413', async () => {
      const sixMb = Buffer.alloc(6 * 1024 * 1024, 7);
      sixMb.set([0xff, 0xd8, 0xff, 0xe0]);
      expectProblem(await putAvatar(t, victim.accessToken, [imageFile(sixMb)]), 413, 'payload_too_large');
      await expectUnchanged();
    });

    it('a 6 MB upload is refused while it streams: the 413 arrives before the client has sent it all', async () => {
      await t.app.listen({ port: 0, host: '127.0.0.1' });
      const { port } = t.app.server.address() as AddressInfo;
      const { head, contentType } = multipartFileHead('file', 'huge.jpg', 'image/jpeg');
      const response = await new Promise<{ status: number; body: string; sent: number }>((resolve, reject) => {
        let sent = 0;
        const req = httpRequest(
          { host: '127.0.0.1', port, method: 'PUT', path: '/api/v1/users/me/avatar', headers: { ...bearer(victim.accessToken), 'content-type': contentType } },
          (res: IncomingMessage) => {
            let body = '';
            res.on('data', (c: Buffer) => (body += c.toString()));
            res.on('end', () => {
              req.destroy();
              resolve({ status: res.statusCode ?? 0, body, sent });
            });
          },
        );
        req.on('error', reject);
        req.write(head);
        const chunk = Buffer.alloc(64 * 1024, 1);
        chunk.set([0xff, 0xd8, 0xff, 0xe0]);
        // 6 MB in 64 KiB chunks, then the request is left open: a server that waited for the
        // end of the body would never answer.
        const pump = () => {
          while (sent < 6 * 1024 * 1024) {
            sent += chunk.length;
            if (!req.write(chunk)) return void req.once('drain', pump);
          }
        };
        pump();
      });
      expect(response.status).toBe(413);
      expect(JSON.parse(response.body)).toMatchObject({ code: 'payload_too_large' });
      await expectUnchanged();
    });

    it('a Content-Length over the limit is refused before the body is read', async () => {
      const res = await t.app.inject({
        method: 'PUT',
        url: '/api/v1/users/me/avatar',
        headers: { ...bearer(victim.accessToken), 'content-type': 'multipart/form-data; boundary=x', 'content-length': String(50 * 1024 * 1024) },
        payload: '--x--',
      });
      expectProblem(res, 413, 'payload_too_large');
    });
  });

  it('two uploads at once, one of them the current picture: the profile never points at a deleted object', async () => {
    const u = await signedInUser(t);
    const current = await solidPng(60, 60, { r: 0, g: 90, b: 0 });
    const first = (await putAvatar(t, u.accessToken, [imageFile(current, 'a.png', 'image/png')])).json<AvatarUrls>();
    // The interleaving that loses it: the re-upload of the current picture has written its objects,
    // the other upload then swaps and deletes them as "previous", and only then does the re-upload swap.
    const repository = t.container.profiles.repository;
    const storage = t.container.storage;
    const original = repository.replaceAvatar.bind(repository);
    const originalDelete = storage.delete.bind(storage);
    let markDeleted!: () => void;
    const currentDeleted = new Promise<void>((resolve) => (markDeleted = resolve));
    storage.delete = async (key) => {
      await originalDelete(key);
      if (uploadsPath(first.avatar_url).endsWith(key)) markDeleted();
    };
    repository.replaceAvatar = async (id, keys, onlyIfPointingAt) => {
      if (keys && uploadsPath(first.avatar_url).endsWith(keys.avatarKey)) await Promise.race([currentDeleted, new Promise((r) => setTimeout(r, 1000))]);
      return original(id, keys, onlyIfPointingAt);
    };
    try {
      const [again, other] = await Promise.all([
        putAvatar(t, u.accessToken, [imageFile(current, 'a.png', 'image/png')]),
        putAvatar(t, u.accessToken, [imageFile(await solidPng(60, 60, { r: 90, g: 0, b: 0 }), 'b.png', 'image/png')]),
      ]);
      expect([again.statusCode, other.statusCode]).toEqual([200, 200]);
    } finally {
      repository.replaceAvatar = original;
      storage.delete = originalDelete;
    }
    const shown = await ownProfile(t, u.accessToken);
    expect((await t.app.inject(uploadsPath(shown.avatar_url!))).statusCode).toBe(200);
    expect((await t.app.inject(uploadsPath(shown.avatar_thumbnail_url!))).statusCode).toBe(200);
  });

  it('the database failing after the objects are written: 503, the new objects removed again, the profile unchanged', async () => {
    const u = await signedInUser(t);
    const first = (await putAvatar(t, u.accessToken, [imageFile(await solidPng(70, 70))])).json<AvatarUrls>();
    const repository = t.container.profiles.repository;
    const original = repository.replaceAvatar.bind(repository);
    repository.replaceAvatar = () => Promise.reject(Object.assign(new Error('Connection terminated unexpectedly'), { code: '57P01' }));
    try {
      const res = await putAvatar(t, u.accessToken, [imageFile(await solidPng(90, 90, { r: 200, g: 0, b: 0 }))]);
      expectProblem(res, 503, 'database_unavailable');
    } finally {
      repository.replaceAvatar = original;
    }
    expect(await ownProfile(t, u.accessToken)).toMatchObject(first);
    expect(await storedKeys(t, `avatars/${u.id}/`)).toEqual([new URL(first.avatar_url), new URL(first.avatar_thumbnail_url)].map((url) => url.pathname.replace('/uploads/', '')).sort());
  });

  describe('/uploads', () => {
    it('only public objects, and no path leaves the uploads folder', async () => {
      const storage = t.container.storage as LocalObjectStorage;
      await storage.put('files/someone/private.txt', Buffer.from('secret'), { contentType: 'text/plain', public: false });
      expectProblem(await t.app.inject('/uploads/files/someone/private.txt'), 404, 'not_found');
      for (const url of [
        '/uploads/../../../../etc/passwd',
        '/uploads/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
        '/uploads/avatars/..%2f..%2f..%2fetc%2fpasswd',
        '/uploads/.hidden',
        '/uploads/',
        '/uploads/avatars/nothing-here.webp',
        '/uploads/..%5c..%5cwindows',
      ]) {
        const res = await t.app.inject(url);
        expect(res.statusCode, url).toBe(404);
        expect(res.body).not.toContain('root:');
      }
      // No path holds a NUL: refused before any route runs.
      expectProblem(await t.app.inject('/uploads/avatars/%00'), 400, 'bad_request');
    });
  });

  it('counts uploads by outcome and times the processing (metrics)', async () => {
    const res = await t.app.inject('/metrics');
    expect(res.statusCode).toBe(200);
    expect(res.body).toMatch(/tessera_avatar_uploads_total\{outcome="success"\} [1-9]/);
    expect(res.body).toMatch(/tessera_avatar_uploads_total\{outcome="payload_too_large"\} [1-9]/);
    expect(res.body).toMatch(/tessera_avatar_uploads_total\{outcome="invalid_image"\} [1-9]/);
    expect(res.body).toMatch(/tessera_avatar_processing_seconds_count [1-9]/);
  });
});

describe(`avatar upload rate limit (${BACKEND})`, () => {
  it('AVATAR_UPLOAD_RATE_LIMIT counts per user per hour: 429 with Retry-After, nothing stored', async () => {
    const t = await createTestApp({ env: { ...ENV, RATE_LIMIT_ENABLED: 'true', AVATAR_UPLOAD_RATE_LIMIT: '1', RATE_LIMIT_REGISTER: '100/minute', RATE_LIMIT_LOGIN: '100/minute' } });
    try {
      const u = await signedInUser(t);
      expect((await putAvatar(t, u.accessToken, [imageFile(await solidPng(50, 50))])).statusCode).toBe(200);
      const limited = await putAvatar(t, u.accessToken, [imageFile(await solidPng(60, 60))]);
      expectProblem(limited, 429, 'rate_limited');
      expect(Number(limited.headers['retry-after'])).toBeGreaterThan(3000);
      expect(await storedKeys(t, `avatars/${u.id}/`)).toHaveLength(2);
    } finally {
      await t.close();
    }
  });
});

async function freePort(): Promise<number> {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe(`avatars on an S3-compatible store (${BACKEND})`, () => {
  const BUCKET = 'tessera-avatars';
  let dir: string;
  let server: S3rver;
  let endpoint: string;
  let t: TestApp;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'tessera-s3rver-'));
    server = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: dir, configureBuckets: [{ name: BUCKET }] });
    const address = await server.run();
    endpoint = `http://127.0.0.1:${address.port}`;
    t = await createTestApp({
      env: {
        ...ENV,
        STORAGE_PROVIDER: 's3',
        AWS_S3_BUCKET: BUCKET,
        AWS_S3_ENDPOINT: endpoint,
        AWS_S3_FORCE_PATH_STYLE: 'true',
        AWS_ACCESS_KEY_ID: 'S3RVER',
        AWS_SECRET_ACCESS_KEY: 'S3RVER',
        AWS_REGION: 'us-east-1',
      },
    });
  });
  afterAll(async () => {
    await t?.close();
    server?.httpServer?.closeAllConnections();
    await server?.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('the avatar lands in the bucket, public, with immutable caching; /ready reports storage; no /uploads route', async () => {
    const u = await signedInUser(t);
    const res = await putAvatar(t, u.accessToken, [imageFile(await photoJpeg(900, 700))]);
    expect(res.statusCode, res.body).toBe(200);
    const urls = res.json<AvatarUrls>();
    expect(urls.avatar_url).toMatch(new RegExp(`^${endpoint}/${BUCKET}/avatars/${u.id}/[0-9a-f]{32}-800\\.webp$`));
    // fetched from the store itself, without credentials, as a browser would
    const object = await fetch(urls.avatar_url);
    expect(object.status).toBe(200);
    expect(object.headers.get('content-type')).toBe('image/webp');
    expect(object.headers.get('cache-control')).toBe(IMMUTABLE);
    expect((await sharp(Buffer.from(await object.arrayBuffer())).metadata()).width).toBe(800);
    expect(await storedKeys(t, `avatars/${u.id}/`)).toHaveLength(2);
    expect((await t.app.inject('/ready')).json()).toMatchObject({ storage: 'ok' });
    expect((await t.app.inject(`/uploads/avatars/${u.id}/x.webp`)).statusCode).toBe(404);
  });

  it('AWS_S3_CUSTOM_DOMAIN makes the public URLs (seed 001 CDN)', async () => {
    const cdn = await createTestApp({ sameStoresAs: t, env: { AWS_S3_CUSTOM_DOMAIN: 'cdn.example.com' } });
    try {
      const u = await signedInUser(cdn);
      const res = await putAvatar(cdn, u.accessToken, [imageFile(await solidPng(120, 90))]);
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json<AvatarUrls>().avatar_url).toMatch(new RegExp(`^https://cdn\\.example\\.com/avatars/${u.id}/[0-9a-f]{32}-800\\.webp$`));
    } finally {
      await cdn.close();
    }
  });

  it('a bucket that cannot be reached: 503 storage_unavailable, the profile unchanged, nothing half-saved', async () => {
    const u = await signedInUser(t);
    const first = (await putAvatar(t, u.accessToken, [imageFile(await solidPng(80, 80))])).json<AvatarUrls>();
    const unreachable = await createTestApp({ sameStoresAs: t, env: { AWS_S3_ENDPOINT: `http://127.0.0.1:${await freePort()}` } });
    try {
      const res = await putAvatar(unreachable, u.accessToken, [imageFile(await photoJpeg(640, 480))]);
      expectProblem(res, 503, 'storage_unavailable');
      expect(res.body).not.toMatch(/127\.0\.0\.1|ECONNREFUSED/);
      expect(await ownProfile(t, u.accessToken)).toMatchObject(first);
      expect(await ownProfile(unreachable, u.accessToken)).toMatchObject(first);
      expect((await fetch(first.avatar_url)).status).toBe(200);
      expect(await storedKeys(t, `avatars/${u.id}/`)).toHaveLength(2);
      expect((await unreachable.app.inject('/ready')).json()).toMatchObject({ storage: 'down' });
      const metrics = await unreachable.app.inject('/metrics');
      expect(metrics.body).toMatch(/tessera_avatar_uploads_total\{outcome="storage_unavailable"\} 1/);
    } finally {
      await unreachable.close();
    }
  });

  it('the local uploads folder is not used', () => {
    expect(existsSync(path.join(t.config.dataDir, 'uploads', 'avatars'))).toBe(false);
  });
});
