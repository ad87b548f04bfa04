import { deflateSync } from 'node:zlib';
import sharp from 'sharp';

/** A photo-like JPEG: a gradient with a bright square off-centre, EXIF (with a copyright note) and orientation 6. */
export async function photoJpeg(width = 1200, height = 900): Promise<Buffer> {
  const pixels = Buffer.alloc(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = (y * width + x) * 3;
      const inSquare = x > width * 0.6 && x < width * 0.8 && y > height * 0.2 && y < height * 0.5;
      pixels[i] = inSquare ? 250 : Math.round((x / width) * 120);
      pixels[i + 1] = inSquare ? 40 : Math.round((y / height) * 120);
      pixels[i + 2] = inSquare ? 40 : 90;
    }
  }
  return sharp(pixels, { raw: { width, height, channels: 3 } })
    .withExif({ IFD0: { Copyright: 'secret-exif-marker', Artist: 'someone' } })
    .withMetadata({ orientation: 6 })
    .jpeg({ quality: 90 })
    .toBuffer();
}

export async function solidPng(width: number, height: number, colour = { r: 20, g: 120, b: 220 }): Promise<Buffer> {
  return sharp({ create: { width, height, channels: 3, background: colour } }).png().toBuffer();
}

/**
 * A decompression bomb: a PNG whose header says 30000×30000 (900 megapixels) — 1-bit grey, so
 * the compressed pixels are small — that would take gigabytes to decode.
 */
export function pngBomb(side = 30_000): Buffer {
  const row = Buffer.alloc(1 + Math.ceil(side / 8)); // filter byte + 1 bit a pixel, all zero
  const raw = Buffer.alloc(row.length * side);
  const idat = deflateSync(raw, { level: 9 });
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(side, 0);
  ihdr.writeUInt32BE(side, 4);
  ihdr[8] = 1; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([PNG_SIGNATURE, chunk('IHDR', ihdr), chunk('IDAT', idat), chunk('IEND', Buffer.alloc(0))]);
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function chunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length);
  const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(body));
  return Buffer.concat([length, body, crc]);
}

function crc32(buf: Buffer): number {
  let c = ~0;
  for (const byte of buf) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0xedb88320 : c >>> 1;
  }
  return ~c >>> 0;
}
