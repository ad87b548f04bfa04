/**
 * The avatar yardstick and its input, shared by the in-process timing (avatars.ts) and the
 * peak-RSS child (avatar-rss.ts).
 */
import sharp from 'sharp';
import type { AvatarProcessingOptions } from '../src/modules/avatars/avatar-processor.js';

/** Tessera's defaults: AVATAR_OPTIMIZED_SIZE, AVATAR_THUMBNAIL_SIZE, IMAGE_QUALITY, AVATAR_FORMATS. */
export const AVATAR_OPTIONS: AvatarProcessingOptions = { formats: ['jpeg', 'png', 'webp'], optimizedSize: 800, thumbnailSize: 200, quality: 85 };

/**
 * A photo-like `width`×`height` JPEG (quality 90): gradients, waves, a bright blob off-centre for
 * the attention crop to find, and a little noise so it doesn't compress to nothing
 * (4000×3000 → about 2.5 MB, under MAX_AVATAR_SIZE_MB). Deterministic.
 */
export async function photoLikeJpeg(width = 4000, height = 3000): Promise<Buffer> {
  const raw = Buffer.alloc(width * height * 3);
  let seed = 12345;
  const noise = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32 - 0.5) * 24;
  const bx = width * 0.7;
  const by = height * 0.37;
  const r2 = 2 * (width * 0.09) ** 2;
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const n = noise();
      const blob = Math.exp(-((x - bx) ** 2 + (y - by) ** 2) / r2) * 160;
      raw[i] = clamp((x / width) * 200 + blob + n);
      raw[i + 1] = clamp((y / height) * 200 + 40 * Math.sin(x / 90) + n);
      raw[i + 2] = clamp(128 + 60 * Math.sin((x + y) / 150) - blob / 2 + n);
    }
  }
  return sharp(raw, { raw: { width, height, channels: 3 } }).jpeg({ quality: 90 }).toBuffer();
}

const clamp = (v: number) => Math.max(0, Math.min(255, Math.round(v)));

/**
 * sharp alone, the same work as an avatar: one decode, EXIF rotation, an 800×800 cover crop on
 * the salient region (attention), WebP q85; the 200×200 thumbnail from that square.
 */
export async function sharpAlone(input: Buffer, o = AVATAR_OPTIONS): Promise<[Buffer, Buffer]> {
  const square = await sharp(input)
    .rotate()
    .resize(o.optimizedSize, o.optimizedSize, { fit: 'cover', position: sharp.strategy.attention })
    .raw()
    .toBuffer({ resolveWithObject: true });
  const raw = { raw: { width: square.info.width, height: square.info.height, channels: square.info.channels } };
  return Promise.all([
    sharp(square.data, raw).webp({ quality: o.quality }).toBuffer(),
    sharp(square.data, raw).resize(o.thumbnailSize, o.thumbnailSize).webp({ quality: o.quality }).toBuffer(),
  ]);
}

/** sharp as most code writes it: two independent pipelines from the JPEG, one per size. */
export async function sharpTwoPipelines(input: Buffer, o = AVATAR_OPTIONS): Promise<[Buffer, Buffer]> {
  const one = (size: number) => sharp(input).rotate().resize(size, size, { fit: 'cover', position: sharp.strategy.attention }).webp({ quality: o.quality }).toBuffer();
  return Promise.all([one(o.optimizedSize), one(o.thumbnailSize)]);
}
