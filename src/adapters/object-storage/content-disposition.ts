import { CONTROL_CHARACTERS, LONE_SURROGATES } from '../../text/characters.js';

/**
 * `attachment` with an ASCII `filename` for old clients and the exact name in an RFC 6266 /
 * RFC 8187 `filename*`. Quotes, backslashes, `%` and control characters never reach the header.
 */
export function attachmentContentDisposition(filename: string): string {
  const name =
    filename
      .replace(CONTROL_CHARACTERS, '')
      .replace(LONE_SURROGATES, '\uFFFD')
      .trim() || 'download';
  const fallback =
    name
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .replace(/[^\x20-\x7e]/g, '_')
      .replace(/["\\%]/g, '_')
      .trim() || 'download';
  const encoded = encodeURIComponent(name).replace(/['()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  return `attachment; filename="${fallback}"; filename*=UTF-8''${encoded}`;
}
