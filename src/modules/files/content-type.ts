import { isUtf8 } from 'node:buffer';

/** How much of an upload is read to decide its type before anything is stored. */
export const SNIFF_BYTES = 4096;

export interface SniffedType {
  /** a media type essence, lower case: `image/png`, `text/plain` */
  type: string;
  /** the type holds only if the rest of the content is valid UTF-8 too (checked while streaming) */
  needsUtf8: boolean;
}

export const OCTET_STREAM = 'application/octet-stream';
export const PLAIN_TEXT = 'text/plain';

/**
 * Types a browser can run script from (HTML, XHTML, SVG, any XML — it may hold XHTML script)
 * and programs (executables, shell scripts). A wildcard in ALLOWED_FILE_TYPES never admits
 * them (`text/*` does not let an HTML page in, `image/*` no SVG): only naming them does.
 */
export const EXPLICIT_ONLY_TYPES = new Set([
  'text/html',
  'application/xhtml+xml',
  'image/svg+xml',
  'text/xml',
  'application/xml',
  'text/x-shellscript',
  'application/vnd.microsoft.portable-executable',
  'application/x-elf',
  'application/x-mach-binary',
  'application/java-vm',
  'application/wasm',
]);

/** `image/*`, `text/*`, `application/pdf`, `*\/*`, matched case-insensitively; see EXPLICIT_ONLY_TYPES. */
export function isAllowedType(type: string, patterns: readonly string[]): boolean {
  const essence = type.split(';')[0]!.trim().toLowerCase();
  const major = essence.split('/')[0];
  return patterns.some((raw) => {
    const pattern = raw.trim().toLowerCase();
    if (pattern === essence) return true;
    if (EXPLICIT_ONLY_TYPES.has(essence)) return false;
    return pattern === '*/*' || pattern === `${major}/*`;
  });
}

type Check = (b: Buffer) => string | null;

const ascii = (b: Buffer, offset: number, text: string) => b.length >= offset + text.length && b.toString('latin1', offset, offset + text.length) === text;
const bytes = (b: Buffer, offset: number, sig: readonly number[]) => b.length >= offset + sig.length && sig.every((v, i) => b[offset + i] === v);

// ISO base media (MP4, HEIF, AVIF…): `ftyp` at 4, the major brand at 8.
const FTYP_BRANDS: Record<string, string> = {
  avif: 'image/avif',
  avis: 'image/avif',
  heic: 'image/heic',
  heix: 'image/heic',
  heim: 'image/heic',
  heis: 'image/heic',
  hevc: 'image/heic-sequence',
  hevx: 'image/heic-sequence',
  mif1: 'image/heif',
  msf1: 'image/heif-sequence',
  'qt  ': 'video/quicktime',
  'M4A ': 'audio/mp4',
  '3gp4': 'video/3gpp',
  '3gp5': 'video/3gpp',
  '3g2a': 'video/3gpp2',
};

const SIGNATURES: Check[] = [
  (b) => (ascii(b, 0, '%PDF-') ? 'application/pdf' : null),
  (b) => (bytes(b, 0, [0xff, 0xd8, 0xff]) ? 'image/jpeg' : null),
  (b) => (bytes(b, 0, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]) ? 'image/png' : null),
  (b) => (ascii(b, 0, 'GIF87a') || ascii(b, 0, 'GIF89a') ? 'image/gif' : null),
  (b) => {
    if (!ascii(b, 0, 'RIFF')) return null;
    if (ascii(b, 8, 'WEBP')) return 'image/webp';
    if (ascii(b, 8, 'WAVE')) return 'audio/wav';
    if (ascii(b, 8, 'AVI ')) return 'video/x-msvideo';
    return null;
  },
  // BMP: "BM", then a DIB header of a known size at 14 (so "BMW 2024.txt" stays text)
  (b) => (ascii(b, 0, 'BM') && b.length >= 18 && [12, 40, 52, 56, 64, 108, 124].includes(b.readUInt32LE(14)) ? 'image/bmp' : null),
  (b) => (bytes(b, 0, [0x49, 0x49, 0x2a, 0x00]) || bytes(b, 0, [0x4d, 0x4d, 0x00, 0x2a]) ? 'image/tiff' : null),
  (b) => (bytes(b, 0, [0x00, 0x00, 0x01, 0x00]) && b.length >= 6 && b.readUInt16LE(4) > 0 ? 'image/x-icon' : null),
  (b) => (ascii(b, 0, '8BPS') ? 'image/vnd.adobe.photoshop' : null),
  (b) => (bytes(b, 0, [0xff, 0x0a]) || bytes(b, 0, [0, 0, 0, 0x0c, 0x4a, 0x58, 0x4c, 0x20, 0x0d, 0x0a, 0x87, 0x0a]) ? 'image/jxl' : null),
  (b) => {
    if (!ascii(b, 4, 'ftyp') || b.length < 12) return null;
    const brand = b.toString('latin1', 8, 12);
    return FTYP_BRANDS[brand] ?? 'video/mp4';
  },
  (b) => (bytes(b, 0, [0x1a, 0x45, 0xdf, 0xa3]) ? (b.includes('webm', 0, 'latin1') ? 'video/webm' : 'video/x-matroska') : null),
  (b) => (ascii(b, 0, 'ID3') || bytes(b, 0, [0xff, 0xfb]) || bytes(b, 0, [0xff, 0xf3]) || bytes(b, 0, [0xff, 0xf2]) ? 'audio/mpeg' : null),
  (b) => (ascii(b, 0, 'OggS') ? 'audio/ogg' : null),
  (b) => (ascii(b, 0, 'fLaC') ? 'audio/flac' : null),
  (b) => (ascii(b, 0, 'MThd') ? 'audio/midi' : null),
  (b) => (ascii(b, 0, 'wOFF') ? 'font/woff' : ascii(b, 0, 'wOF2') ? 'font/woff2' : ascii(b, 0, 'OTTO') ? 'font/otf' : null),
  (b) => (bytes(b, 0, [0x00, 0x01, 0x00, 0x00, 0x00]) ? 'font/ttf' : null),
  (b) => (ascii(b, 0, 'PK\x03\x04') || ascii(b, 0, 'PK\x05\x06') || ascii(b, 0, 'PK\x07\x08') ? zipType(b) : null),
  (b) => (bytes(b, 0, [0x1f, 0x8b, 0x08]) ? 'application/gzip' : null),
  (b) => (ascii(b, 0, 'BZh') && bytes(b, 4, [0x31, 0x41, 0x59, 0x26, 0x53, 0x59]) ? 'application/x-bzip2' : null),
  (b) => (bytes(b, 0, [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]) ? 'application/x-xz' : null),
  (b) => (bytes(b, 0, [0x28, 0xb5, 0x2f, 0xfd]) ? 'application/zstd' : null),
  (b) => (bytes(b, 0, [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c]) ? 'application/x-7z-compressed' : null),
  (b) => (ascii(b, 0, 'Rar!\x1a\x07') ? 'application/vnd.rar' : null),
  (b) => (ascii(b, 257, 'ustar') ? 'application/x-tar' : null),
  (b) => (ascii(b, 0, 'SQLite format 3\x00') ? 'application/vnd.sqlite3' : null),
  (b) => (ascii(b, 0, '{\\rtf') ? 'application/rtf' : null),
  (b) => (ascii(b, 0, '%!PS') ? 'application/postscript' : null),
  // programs
  (b) => (ascii(b, 0, 'MZ') ? 'application/vnd.microsoft.portable-executable' : null),
  (b) => (bytes(b, 0, [0x7f, 0x45, 0x4c, 0x46]) ? 'application/x-elf' : null),
  (b) =>
    [
      [0xfe, 0xed, 0xfa, 0xce],
      [0xfe, 0xed, 0xfa, 0xcf],
      [0xce, 0xfa, 0xed, 0xfe],
      [0xcf, 0xfa, 0xed, 0xfe],
    ].some((sig) => bytes(b, 0, sig))
      ? 'application/x-mach-binary'
      : null,
  // Java classes and universal Mach-O binaries share CAFEBABE: either way, a program.
  (b) => (bytes(b, 0, [0xca, 0xfe, 0xba, 0xbe]) ? 'application/java-vm' : null),
  (b) => (bytes(b, 0, [0x00, 0x61, 0x73, 0x6d]) ? 'application/wasm' : null),
];

/** EPUB and OpenDocument name their type in a first, stored `mimetype` entry; Office files by their folders. */
function zipType(b: Buffer): string {
  if (ascii(b, 30, 'mimetype')) {
    const declared = /^[a-z0-9.+-]+\/[a-z0-9.+-]+/i.exec(b.toString('latin1', 38, 38 + 80));
    if (declared && /^application\/(epub\+zip|vnd\.oasis\.opendocument\.[a-z.-]+)$/.test(declared[0])) return declared[0];
  }
  const head = b.toString('latin1');
  if (head.includes('[Content_Types].xml') || head.includes('_rels/.rels')) {
    if (head.includes('word/')) return 'application/vnd.openxmlformats-officedocument.wordprocessingml.document';
    if (head.includes('xl/')) return 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet';
    if (head.includes('ppt/')) return 'application/vnd.openxmlformats-officedocument.presentationml.presentation';
  }
  return 'application/zip';
}

// WHATWG MIME Sniffing, "identifying a resource with an unknown MIME type": the tags that make
// a browser treat text as HTML, followed by a space or '>'.
const TAG_END = /^[ >\t\n\r\f]$/;
const HTML_TAGS = ['!doctype html', 'html', 'head', 'script', 'iframe', 'h1', 'div', 'font', 'table', 'a', 'style', 'title', 'b', 'body', 'br', 'p', '!--'];

/** Markup a browser would render as a document (with script), judged from the start of the text. */
function markupType(text: string): string | null {
  const start = text.replace(/^[\s\ufeff]+/, '').slice(0, 512).toLowerCase();
  if (!start.startsWith('<')) return null;
  if (start.startsWith('<?xml') || start.startsWith('<!doctype svg') || start.startsWith('<svg')) {
    const lower = text.slice(0, 4096).toLowerCase();
    if (start.startsWith('<svg') || start.startsWith('<!doctype svg') || lower.includes('<svg')) return 'image/svg+xml';
    if (lower.includes('<html') || lower.includes('xhtml')) return 'application/xhtml+xml';
    return 'text/xml';
  }
  for (const tag of HTML_TAGS) {
    if (start.startsWith(`<${tag}`) && TAG_END.test(start.charAt(1 + tag.length))) return 'text/html';
  }
  return null;
}

/** The length of `head` that ends on a whole UTF-8 sequence: a sequence cut by the sniff window is not an error. */
export function completeUtf8Length(b: Buffer): number {
  for (let i = b.length - 1; i >= Math.max(0, b.length - 4); i--) {
    const byte = b[i]!;
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: look further back
    return i + utf8SequenceLength(byte) > b.length ? i : b.length;
  }
  return b.length;
}

export function utf8SequenceLength(lead: number): number {
  if (lead < 0x80) return 1;
  if (lead >= 0xc2 && lead <= 0xdf) return 2;
  if (lead >= 0xe0 && lead <= 0xef) return 3;
  if (lead >= 0xf0 && lead <= 0xf4) return 4;
  return 1; // not a lead byte: invalid, the validator says so
}

// Control characters that never appear in text (NUL, and C0 others than \t \n \v \f \r and ESC).
// eslint-disable-next-line no-control-regex -- finding control characters is the point
const BINARY_CONTROL = /[\u0000-\u0008\u000e-\u001a\u001c-\u001f]/;

/**
 * The type of an upload from its first bytes (`complete`: they are the whole content). Magic
 * numbers first; then text, which must be UTF-8 (a BOM is fine) without binary control
 * characters; markup that a browser would render (HTML, SVG, XML) and `#!` scripts are named as
 * such, whatever the file is called. Anything else is `application/octet-stream`.
 */
export function sniffContentType(head: Buffer, complete: boolean): SniffedType {
  for (const check of SIGNATURES) {
    const type = check(head);
    if (type) return { type, needsUtf8: false };
  }
  const whole = complete ? head.length : completeUtf8Length(head);
  const textPart = head.subarray(0, whole);
  if (!isUtf8(textPart)) return { type: OCTET_STREAM, needsUtf8: false };
  const text = textPart.toString('utf8');
  if (BINARY_CONTROL.test(text)) return { type: OCTET_STREAM, needsUtf8: false };
  if (text.startsWith('#!')) return { type: 'text/x-shellscript', needsUtf8: false };
  const markup = markupType(text);
  if (markup) return { type: markup, needsUtf8: false };
  return { type: PLAIN_TEXT, needsUtf8: !complete };
}

/**
 * Checks UTF-8 across chunk boundaries for the bytes after the sniffed head, without copying
 * chunks: a sequence cut between two chunks is completed from the next one.
 */
export class Utf8StreamValidator {
  private carry: Buffer = Buffer.alloc(0);
  valid = true;

  /** `chunk` continues the text; false once anything was not UTF-8 text */
  feed(chunk: Buffer): boolean {
    if (!this.valid) return false;
    let start = 0;
    if (this.carry.length > 0) {
      const need = utf8SequenceLength(this.carry[0]!) - this.carry.length;
      if (chunk.length < need) {
        this.carry = Buffer.concat([this.carry, chunk]);
        return this.valid;
      }
      if (!isUtf8(Buffer.concat([this.carry, chunk.subarray(0, need)]))) return (this.valid = false);
      start = need;
      this.carry = Buffer.alloc(0);
    }
    const rest = chunk.subarray(start);
    const whole = completeUtf8Length(rest);
    const body = rest.subarray(0, whole);
    if (!isUtf8(body) || body.includes(0)) return (this.valid = false);
    this.carry = Buffer.from(rest.subarray(whole));
    return true;
  }

  /** the text ended: a sequence left open is invalid */
  end(): boolean {
    if (this.carry.length > 0) this.valid = false;
    return this.valid;
  }
}
