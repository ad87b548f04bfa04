import type { IncomingMessage } from 'node:http';

/**
 * Request headers read from Node's raw name/value list (`rawHeaders`): a request whose hooks read
 * nothing else (a health probe) never has Node build the `headers` object.
 */

/** Index in `raw` (name, value, name, value, …) of the next header `name` (lower case) at or after `from`; -1 when none. */
export function rawHeaderIndex(raw: readonly string[], name: string, from = 0): number {
  for (let i = from; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) return i;
  }
  return -1;
}

/** One header's value; when it is repeated, the first (as `headers` keeps for most single-value headers). */
export function rawHeader(req: IncomingMessage, name: string): string | undefined {
  const i = rawHeaderIndex(req.rawHeaders, name);
  return i < 0 ? undefined : req.rawHeaders[i + 1];
}
