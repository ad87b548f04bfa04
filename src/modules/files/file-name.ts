import { BIDI_CONTROLS, CONTROL_CHARACTERS, LONE_SURROGATES } from '../../text/characters.js';

/** A stored name is at most this many UTF-8 bytes (what file systems allow a name). */
export const MAX_FILE_NAME_BYTES = 255;

// Besides the controls and bidi controls (tab, CR and LF become spaces first): the BOM /
// zero-width no-break space, the zero-width space and word joiner (which make two names that
// look the same differ), and the line and paragraph separators. The zero-width joiner and
// non-joiner stay: emoji sequences and Persian or Indic words need them.
const INVISIBLE = /[\ufeff\u200b\u2060\u2028\u2029]/g;
// Characters Windows refuses in names: a download saved there must not be renamed or fail.
const WINDOWS_FORBIDDEN = /[<>:"|?*]/g;
// CON, PRN, AUX, NUL, COM1-9, LPT1-9 (and the superscript digits Windows also reserves),
// with or without an extension: "con.txt" is reserved too, and so is "con .txt" (Windows
// drops the spaces before the dot).
const WINDOWS_RESERVED = /^(con|prn|aux|nul|com[0-9¹²³]|lpt[0-9¹²³]) *(\.|$)/i;
const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });

/**
 * The name a file is stored and offered for download under. Only the last segment of a path is
 * kept ("../../etc/passwd" → "passwd", "C:\\Users\\me\\a.txt" → "a.txt"); control characters,
 * bidi overrides and Windows-forbidden characters go; the result is Unicode NFC, trimmed of
 * spaces (and of the trailing dots Windows drops), never a Windows device name, and at most
 * 255 UTF-8 bytes, cut between characters with the extension kept. A name with nothing left
 * (empty, only dots or spaces) becomes `fallback`.
 *
 * The name is never used to decide the type, nor to build a storage key.
 */
export function sanitizeFileName(raw: unknown, fallback = 'unnamed'): string {
  if (typeof raw !== 'string') return fallback;
  let name = raw.replace(LONE_SURROGATES, '\uFFFD');
  name = name.slice(Math.max(name.lastIndexOf('/'), name.lastIndexOf('\\')) + 1);
  name = name
    .replace(/[\t\r\n]/g, ' ')
    .replace(CONTROL_CHARACTERS, '')
    .replace(BIDI_CONTROLS, '')
    .replace(INVISIBLE, '')
    .replace(WINDOWS_FORBIDDEN, '_')
    .normalize('NFC')
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[. ]+$/, '');
  if (name === '' || /^[. ]*$/.test(name)) return fallback;
  if (WINDOWS_RESERVED.test(name)) name = `_${name}`;
  return truncateUtf8(name, MAX_FILE_NAME_BYTES) || fallback;
}

/** Cuts `name` to `maxBytes` of UTF-8 between grapheme clusters, keeping a short extension. */
export function truncateUtf8(name: string, maxBytes: number): string {
  if (Buffer.byteLength(name, 'utf8') <= maxBytes) return name;
  const dot = name.lastIndexOf('.');
  const extension = dot > 0 && name.length - dot <= 16 ? name.slice(dot) : '';
  const stem = extension ? name.slice(0, dot) : name;
  const budget = maxBytes - Buffer.byteLength(extension, 'utf8');
  let kept = '';
  let used = 0;
  for (const { segment } of segmenter.segment(stem)) {
    const bytes = Buffer.byteLength(segment, 'utf8');
    if (used + bytes > budget) break;
    kept += segment;
    used += bytes;
  }
  return `${kept.trimEnd()}${extension}`;
}
