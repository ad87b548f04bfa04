import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

// Every response carries it (X-Request-Id, set with the security headers: security.ts).
// A caller's id is kept when it is short and plain; anything else is replaced, never echoed.
const VALID_REQUEST_ID = /^[A-Za-z0-9._:@-]{1,128}$/;

export function genRequestId(req: IncomingMessage): string {
  // Repeated, Node joins the values with ", ": no longer a plain id, so replaced.
  const incoming = req.headers['x-request-id'];
  if (typeof incoming === 'string' && VALID_REQUEST_ID.test(incoming)) return incoming;
  return randomUUID();
}
