import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { rawHeader } from '../raw-headers.js';

// Every response carries it (X-Request-Id, set with the security headers: security.ts).
// A caller's id is kept when it is short and plain; anything else is replaced, never echoed.
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function genRequestId(req: IncomingMessage): string {
  const incoming = rawHeader(req, 'x-request-id');
  if (incoming !== undefined && VALID_REQUEST_ID.test(incoming)) return incoming;
  return randomUUID();
}
