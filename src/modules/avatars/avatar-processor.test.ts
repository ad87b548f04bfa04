import { createHash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { AppError } from '../../errors/app-error.js';
import {
  avatarObjectKey,
  CACHE_CONTROL_IMMUTABLE,
  DEFAULT_MAX_AVATAR_PIXELS,
  detectImageType,
  processAvatar,
  type AvatarProcessingOptions,
} from './avatar-processor.js';

const OPTIONS: AvatarProcessingOptions = { formats: ['jpeg', 'png', 'webp'], optimizedSize: 800, thumbnailSize: 200, quality: 85 };

/** a noisy photo-like image, so that JPEG has real data to lose when cut */
async function noisyJpeg(width: number, height: number): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  let seed = 42;
  for (let i = 0; i < pixels.length; i++) {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    pixels[i] = seed & 0xff;
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

/** A PNG whose header claims width × height; its pixel data is a 1×1 image's. */
async function pngClaiming(width: number, height: number): Promise<Buffer> {
  const png = await sharp({ create: { width: 1, height: 1, channels: 3, background: '#fff' } }).png().toBuffer();
  // signature (8) | IHDR length (4) | "IHDR" (4) | width (4) | height (4) | 5 more bytes | CRC (4)
  png.writeUInt32BE(width, 16);
  png.writeUInt32BE(height, 20);
  png.writeUInt32BE(crc32(png.subarray(12, 29)), 29);
  return png;
}

async function expectAppError(promise: Promise<unknown>, status: number): Promise<AppError> {
  const err = await promise.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AppError);
  expect((err as AppError).status).toBe(status);
  return err as AppError;
}

async function pixelAt(image: Buffer, x: number, y: number): Promise<[number, number, number]> {
  const { data, info } = await sharp(image).removeAlpha().raw().toBuffer({ resolveWithObject: true });
  const offset = (y * info.width + x) * info.channels;
  return [data[offset]!, data[offset + 1]!, data[offset + 2]!];
}

describe('detectImageType', () => {
  it('knows JPEG, PNG and WebP by their first bytes, and nothing else', async () => {
    const png = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).png().toBuffer();
    const webp = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).webp().toBuffer();
    const jpeg = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).jpeg().toBuffer();
    const gif = await sharp({ create: { width: 2, height: 2, channels: 3, background: '#000' } }).gif().toBuffer();
    expect(detectImageType(jpeg)).toBe('jpeg');
    expect(detectImageType(png)).toBe('png');
    expect(detectImageType(webp)).toBe('webp');
    expect(detectImageType(gif)).toBeNull();
    expect(detectImageType(Buffer.from('<svg xmlns="http://www.w3.org/2000/svg"/>'))).toBeNull();
    expect(detectImageType(Buffer.from('RIFF\0\0\0\0WAVE'))).toBeNull();
    expect(detectImageType(Buffer.alloc(0))).toBeNull();
    expect(detectImageType(Buffer.from([0xff, 0xd8]))).toBeNull();
  });
});

describe('processAvatar', () => {
  let photo: Buffer;

  beforeAll(async () => {
    photo = await noisyJpeg(1200, 900);
  });

  it('makes an 800×800 WebP and a 200×200 thumbnail, each with its SHA-256', async () => {
    const result = await processAvatar(photo, OPTIONS);
    expect(result.sourceType).toBe('jpeg');
    for (const [image, size] of [
      [result.optimized, 800],
      [result.thumbnail, 200],
    ] as const) {
      expect(image).toMatchObject({ width: size, height: size, format: 'webp', contentType: 'image/webp' });
      const meta = await sharp(image.data).metadata();
      expect([meta.format, meta.width, meta.height]).toEqual(['webp', size, size]);
      expect(image.sha256).toBe(createHash('sha256').update(image.data).digest('hex'));
    }
  });

  it('makes exact squares from tiny, wide and tall PNG and WebP sources', async () => {
    const tall = await sharp({ create: { width: 50, height: 300, channels: 4, background: { r: 0, g: 128, b: 0, alpha: 0.5 } } }).png().toBuffer();
    const wide = await sharp({ create: { width: 3000, height: 400, channels: 3, background: '#123456' } }).webp().toBuffer();
    for (const input of [tall, wide]) {
      const { optimized, thumbnail } = await processAvatar(input, OPTIONS);
      expect([optimized.width, optimized.height, thumbnail.width, thumbnail.height]).toEqual([800, 800, 200, 200]);
    }
  });

  it('applies the EXIF orientation, then removes EXIF, GPS and every other metadata', async () => {
    // Stored left half red, right half blue, with orientation 6 (display rotated 90° clockwise):
    // shown upright, red is on top.
    const half = 200;
    const stored = await sharp({ create: { width: half * 2, height: half * 2, channels: 3, background: '#0000ff' } })
      .composite([{ input: { create: { width: half, height: half * 2, channels: 3, background: '#ff0000' } }, left: 0, top: 0 }])
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .withExifMerge({
        IFD0: { Make: 'TestCam', Model: 'Leaky 3000', Copyright: 'owner@example.com' },
        IFD3: { GPSMapDatum: 'WGS-84', GPSLatitudeRef: 'N', GPSLatitude: '51/1 30/1 0/1' }, // IFD3: GPS
      })
      .toBuffer();
    const before = await sharp(stored).metadata();
    expect(before.orientation).toBe(6);
    expect(before.exif?.includes('TestCam')).toBe(true);
    expect(before.exif?.includes('WGS-84')).toBe(true);

    const { optimized, thumbnail } = await processAvatar(stored, OPTIONS);
    for (const image of [optimized, thumbnail]) {
      const meta = await sharp(image.data).metadata();
      expect(meta.exif).toBeUndefined();
      expect(meta.xmp).toBeUndefined();
      expect(meta.icc).toBeUndefined();
      expect(meta.orientation).toBeUndefined();
      expect(image.data.includes('TestCam')).toBe(false);
      expect(image.data.includes('WGS-84')).toBe(false);
      expect(image.data.includes('Exif')).toBe(false);
    }
    // unrotated, the left half would be red and the right half blue
    for (const x of [100, 700]) {
      const [top, bottom] = [await pixelAt(optimized.data, x, 100), await pixelAt(optimized.data, x, 700)];
      expect(top[0]).toBeGreaterThan(200); // red on top
      expect(top[2]).toBeLessThan(60);
      expect(bottom[2]).toBeGreaterThan(200); // blue below
      expect(bottom[0]).toBeLessThan(60);
    }
  });

  it('refuses a text file named .jpg with 415', async () => {
    const err = await expectAppError(processAvatar(Buffer.from('This is a plain text file, honest.\n'), OPTIONS), 415);
    expect(err.code).toBe('unsupported_media_type');
    expect(err.errors?.[0]?.field).toBe('file');
  });

  it('refuses SVG, HTML and GIF/HTML polyglots with 415', async () => {
    const svg = Buffer.from('<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="10" height="10"/></svg>');
    const html = Buffer.from('<!DOCTYPE html><html><body><img src=x onerror=alert(1)></body></html>');
    const gifHtml = Buffer.concat([Buffer.from('GIF89a'), Buffer.from('/*<script>alert(1)</script>*/')]);
    for (const input of [svg, html, gifHtml]) await expectAppError(processAvatar(input, OPTIONS), 415);
  });

  it('refuses a JPEG-looking file that is HTML inside with 422', async () => {
    const fake = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('<html><script>alert(1)</script></html>')]);
    const err = await expectAppError(processAvatar(fake, OPTIONS), 422);
    expect(err.errors?.[0]).toMatchObject({ field: 'file' });
  });

  it('re-encodes a real JPEG carrying HTML after its end, so none of it survives', async () => {
    const polyglot = Buffer.concat([photo, Buffer.from('<html><script>alert(1)</script></html>')]);
    const { optimized, thumbnail } = await processAvatar(polyglot, OPTIONS);
    expect(optimized.data.includes('<script')).toBe(false);
    expect(thumbnail.data.includes('<script')).toBe(false);
  });

  it('refuses a truncated JPEG with 422', async () => {
    const truncated = photo.subarray(0, Math.floor(photo.length / 2));
    const err = await expectAppError(processAvatar(truncated, OPTIONS), 422);
    expect(err.code).toBe('validation_failed');
  });

  it('refuses a few-KB PNG that claims 30000×30000 pixels at once, without decoding it', async () => {
    const bomb = await pngClaiming(30_000, 30_000);
    expect(bomb.length).toBeLessThan(4096);
    expect(await sharp(bomb, { limitInputPixels: false }).metadata()).toMatchObject({ width: 30_000, height: 30_000 });
    const started = performance.now();
    const err = await expectAppError(processAvatar(bomb, OPTIONS), 422);
    expect(performance.now() - started).toBeLessThan(500);
    expect(err.detail).toMatch(/megapixels/);
  });

  it('refuses a real zlib-compressed PNG past a lower pixel limit before decoding it', async () => {
    // 4000×4000 of zeros: 48 MB of pixels in a few tens of KB
    const big = await sharp({ create: { width: 4000, height: 4000, channels: 3, background: '#000' } }).png({ compressionLevel: 9 }).toBuffer();
    expect(big.length).toBeLessThan(200_000);
    const started = performance.now();
    await expectAppError(processAvatar(big, { ...OPTIONS, maxPixels: 10_000_000 }), 422);
    expect(performance.now() - started).toBeLessThan(500);
  });

  it('refuses a type AVATAR_FORMATS leaves out', async () => {
    const png = await sharp({ create: { width: 10, height: 10, channels: 3, background: '#fff' } }).png().toBuffer();
    await expectAppError(processAvatar(png, { ...OPTIONS, formats: ['jpg', 'webp'] }), 415);
    expect((await processAvatar(photo, { ...OPTIONS, formats: ['jpg'] })).sourceType).toBe('jpeg');
  });

  it('defaults to a 50-megapixel limit', () => {
    expect(DEFAULT_MAX_AVATAR_PIXELS).toBe(50_000_000);
  });
});

describe('avatarObjectKey', () => {
  const sha = createHash('sha256').update('x').digest('hex');

  it('is content-addressed under the user', () => {
    expect(avatarObjectKey('0b6f4d6e-1c1d-4e9e-a8b5-3f1f1f1f1f1f', sha, { size: 800 })).toBe(
      `avatars/0b6f4d6e-1c1d-4e9e-a8b5-3f1f1f1f1f1f/${sha.slice(0, 32)}-800.webp`,
    );
  });

  it('refuses ids and hashes that could bend the path', () => {
    expect(() => avatarObjectKey('../x', sha, { size: 800 })).toThrow();
    expect(() => avatarObjectKey('u1', 'nothex', { size: 800 })).toThrow();
    expect(() => avatarObjectKey('u1', sha, { size: 0 })).toThrow();
  });

  it('comes with a year-long immutable Cache-Control', () => {
    expect(CACHE_CONTROL_IMMUTABLE).toBe('public, max-age=31536000, immutable');
  });
});
