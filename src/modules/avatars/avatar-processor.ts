import { createHash } from 'node:crypto';
import type SharpModule from 'sharp';
import type { Metadata, OutputInfo, Sharp } from 'sharp';
import { AppError } from '../../errors/app-error.js';

/** sharp (libvips) is loaded with the first avatar, not at start-up: most processes never need it. */
let sharpModule: Promise<{ default: typeof SharpModule }> | undefined;
async function loadSharp(): Promise<typeof SharpModule> {
  sharpModule ??= import('sharp');
  return (await sharpModule).default;
}

/** Avatars never change under their key (it holds their hash): caches keep them a year. */
export const CACHE_CONTROL_IMMUTABLE = 'public, max-age=31536000, immutable';

/** Larger images are refused before their pixels are decoded (decompression bombs). */
export const DEFAULT_MAX_AVATAR_PIXELS = 50_000_000;

export type AvatarSourceType = 'jpeg' | 'png' | 'webp';

/**
 * WebP: about a third smaller than JPEG at the same quality, with alpha, and shown by every
 * browser in use (Safari since 14). One format means one URL per size: no negotiation.
 */
export const AVATAR_FORMAT = 'webp' as const;
export const AVATAR_CONTENT_TYPE = 'image/webp' as const;

export interface AvatarProcessingOptions {
  /** AVATAR_FORMATS: the accepted source types, `jpeg` (or `jpg`), `png`, `webp` */
  formats: readonly string[];
  /** AVATAR_OPTIMIZED_SIZE: the side of the square avatar (800) */
  optimizedSize: number;
  /** AVATAR_THUMBNAIL_SIZE: the side of the square thumbnail (200) */
  thumbnailSize: number;
  /** IMAGE_QUALITY (85) */
  quality: number;
  /** default 50 megapixels */
  maxPixels?: number;
}

export interface AvatarImage {
  data: Buffer;
  width: number;
  height: number;
  format: typeof AVATAR_FORMAT;
  contentType: typeof AVATAR_CONTENT_TYPE;
  /** hex SHA-256 of `data`: the content address in its object key */
  sha256: string;
}

export interface ProcessedAvatar {
  sourceType: AvatarSourceType;
  optimized: AvatarImage;
  thumbnail: AvatarImage;
}

/** The type by magic bytes, whatever the file's name or declared type says. */
export function detectImageType(head: Buffer): AvatarSourceType | null {
  if (head.length >= 3 && head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff) return 'jpeg';
  if (head.length >= 8 && head.subarray(0, 8).equals(PNG_SIGNATURE)) return 'png';
  if (head.length >= 12 && head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') return 'webp';
  return null;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/**
 * Turns an uploaded image into the square avatar and its thumbnail:
 * type by magic bytes (415 otherwise) → header checked against the pixel limit (422) → one full
 * decode that fails on any error or truncation (422) → EXIF orientation applied → cover-cropped
 * to the salient region (sharp's attention strategy) → WebP at `quality`, with no metadata at all
 * (sharp writes none unless asked: no EXIF, GPS, XMP or ICC survives).
 */
export async function processAvatar(input: Buffer, options: AvatarProcessingOptions): Promise<ProcessedAvatar> {
  const sourceType = detectImageType(input);
  const accepted = acceptedTypes(options.formats);
  if (!sourceType || !accepted.has(sourceType)) {
    throw new AppError('unsupported_media_type', {
      detail: `An avatar must be one of: ${[...accepted].join(', ')}`,
      errors: [{ field: 'file', message: sourceType ? `${sourceType} images are not accepted` : 'is not a JPEG, PNG or WebP image' }],
    });
  }

  const sharp = await loadSharp();
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_AVATAR_PIXELS;
  const decode = { failOn: 'error' as const, limitInputPixels: maxPixels };

  // The header alone: what the decoder will see, and how big it claims to be.
  let header: Metadata;
  try {
    header = await sharp(input, decode).metadata();
  } catch (err) {
    if (isPixelLimitError(err)) throw tooManyPixels(maxPixels);
    throw invalidImage(sourceType, err);
  }
  if (header.format !== sourceType) throw invalidImage(sourceType, new Error(`decoded as ${String(header.format)}`));
  if (!header.width || !header.height || header.width * header.height > maxPixels) {
    throw tooManyPixels(maxPixels);
  }
  // Cover-cropping first scales the short side to the avatar's: a sliver (5000×10, a few hundred
  // bytes) would be resized through more pixels than any bomb before the crop.
  const coverScale = options.optimizedSize / Math.min(header.width, header.height);
  if (header.width * header.height * coverScale * coverScale > maxPixels) {
    throw new AppError('validation_failed', {
      detail: 'The image is too narrow or too tall to make a square avatar of',
      errors: [{ field: 'file', message: 'is too narrow or too tall for a square avatar' }],
    });
  }

  // One decode, one crop: both sizes show the same region.
  let square: { data: Buffer; info: OutputInfo };
  try {
    square = await sharp(input, decode)
      .autoOrient()
      .resize(options.optimizedSize, options.optimizedSize, { fit: 'cover', position: sharp.strategy.attention })
      .raw()
      .toBuffer({ resolveWithObject: true });
  } catch (err) {
    if (isPixelLimitError(err)) throw tooManyPixels(maxPixels);
    throw invalidImage(sourceType, err);
  }

  const raw = { width: square.info.width, height: square.info.height, channels: square.info.channels };
  const [optimized, thumbnail] = await Promise.all([
    encode(sharp(square.data, { raw })),
    encode(sharp(square.data, { raw }).resize(options.thumbnailSize, options.thumbnailSize, { fit: 'fill' })),
  ]);
  return { sourceType, optimized, thumbnail };

  async function encode(image: Sharp): Promise<AvatarImage> {
    const { data, info } = await image.webp({ quality: options.quality }).toBuffer({ resolveWithObject: true });
    return {
      data,
      width: info.width,
      height: info.height,
      format: AVATAR_FORMAT,
      contentType: AVATAR_CONTENT_TYPE,
      sha256: createHash('sha256').update(data).digest('hex'),
    };
  }
}

/**
 * Content-addressed: `avatars/<userId>/<first 32 hex of the SHA-256>-<size>.webp`. A new avatar
 * gets new keys, so caches never serve a stale one and the old objects can go after the row changes.
 */
export function avatarObjectKey(userId: string, sha256: string, variant: { size: number; format?: typeof AVATAR_FORMAT }): string {
  if (!/^[A-Za-z0-9_-]{1,64}$/.test(userId)) throw new Error('an avatar key needs a plain user id');
  if (!/^[0-9a-f]{64}$/.test(sha256)) throw new Error('an avatar key needs a hex SHA-256');
  if (!Number.isSafeInteger(variant.size) || variant.size <= 0) throw new Error('an avatar key needs a positive size');
  return `avatars/${userId}/${sha256.slice(0, 32)}-${variant.size}.${variant.format ?? AVATAR_FORMAT}`;
}

function acceptedTypes(formats: readonly string[]): Set<AvatarSourceType> {
  const accepted = new Set<AvatarSourceType>();
  for (const format of formats) {
    const name = format.trim().toLowerCase();
    if (name === 'jpeg' || name === 'jpg') accepted.add('jpeg');
    else if (name === 'png' || name === 'webp') accepted.add(name);
  }
  return accepted;
}

function isPixelLimitError(err: unknown): boolean {
  return err instanceof Error && /pixel limit/i.test(err.message);
}

function tooManyPixels(maxPixels: number): AppError {
  const megapixels = Math.floor(maxPixels / 1_000_000);
  return new AppError('validation_failed', {
    detail: `The image has more than ${megapixels} megapixels`,
    errors: [{ field: 'file', message: `has more than ${megapixels} megapixels` }],
  });
}

function invalidImage(type: AvatarSourceType, cause: unknown): AppError {
  return new AppError('validation_failed', {
    detail: 'The file is not a valid image',
    errors: [{ field: 'file', message: `could not be decoded as ${type.toUpperCase()}` }],
    cause,
  });
}
