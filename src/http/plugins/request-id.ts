import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// Every response carries it (X-Request-Id, set with the security headers: security.ts).
// A caller's id is kept when it is short and plain; anything else is replaced, never echoed.
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function genRequestId(req: IncomingMessage): string {
  const incoming = rawHeader(req, 'x-request-id');
  if (incoming !== undefined && VALID_REQUEST_ID.test(incoming)) return incoming;
  return randomUUID();
}

/**
 * One request header (`name` in lower case), read from the raw name/value list: a route that
 * reads no other header (a health probe) never has Node build the `headers` object. When the
 * header is repeated, the first is taken (as `headers` keeps the first of most single-value
 * headers).
 */
export function rawHeader(req: IncomingMessage, name: string): string | undefined {
  const raw = req.rawHeaders;
  for (let i = 0; i < raw.length; i += 2) {
    const key = raw[i]!;
    if (key.length === name.length && key.toLowerCase() === name) return raw[i + 1];
  }
  return undefined;
}
