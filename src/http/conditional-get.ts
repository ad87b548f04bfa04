/** A satisfiable byte range, inclusive (RFC 9110 §14.1.2). */
export interface RequestedRange {
  start: number;
  end: number;
}

export type RangeDecision = { kind: 'whole' } | { kind: 'range'; range: RequestedRange } | { kind: 'unsatisfiable' };

/**
 * Reads a `Range` header against a representation of `size` bytes. Only a single `bytes`
 * range is served; anything else the server may ignore (RFC 9110 §14.2), so a malformed or
 * multi-range header gets the whole content. A range that starts past the end is 416.
 */
export function parseRange(header: string | undefined, size: number): RangeDecision {
  if (!header) return { kind: 'whole' };
  const match = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(header);
  if (!match) return { kind: 'whole' };
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return { kind: 'whole' };
  if (first === '') {
    // suffix: the last N bytes
    const length = Number(last);
    if (length === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'range', range: { start: Math.max(0, size - length), end: size - 1 } };
  }
  const start = Number(first);
  const end = last === '' ? Infinity : Number(last);
  if (end < start) return { kind: 'whole' };
  // digits only, so never NaN: a start too big for a safe integer is past the end of any file
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'range', range: { start, end: Math.min(end, size - 1) } };
}

/** `If-None-Match` against a strong ETag, with the weak comparison RFC 9110 §13.1.2 asks for. */
export function etagMatches(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  if (ifNoneMatch.trim() === '*') return true;
  const opaque = etag.replace(/^W\//, '');
  return ifNoneMatch.split(',').some((candidate) => candidate.trim().replace(/^W\//, '') === opaque);
}

/** `If-Range`: the range is served only if the client's copy is this very representation. */
export function ifRangeAllows(ifRange: string | undefined, etag: string): boolean {
  if (!ifRange) return true;
  const value = ifRange.trim();
  return !value.startsWith('W/') && value === etag; // a date or a weak tag: send the whole content
}
