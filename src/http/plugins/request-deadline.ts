import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import type { Config } from '../../config/index.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * The route streams a large body (a file, an avatar): it may take as long as it needs while
     * bytes keep arriving (UPLOAD_IDLE_TIMEOUT_MS between them, UPLOAD_TIMEOUT_MS in all),
     * instead of arriving whole within REQUEST_TIMEOUT_MS.
     */
    upload?: boolean;
  }
}

/** after a 408, how long a client still sending keeps its connection */
const LINGER_MS = 5_000;

/** What the deadlines are (REQUEST_TIMEOUT_MS, UPLOAD_IDLE_TIMEOUT_MS, UPLOAD_TIMEOUT_MS). */
export type DeadlineSettings = Pick<Config['server'], 'requestTimeoutMs' | 'uploadIdleTimeoutMs' | 'uploadTimeoutMs'>;

/**
 * A request with a body: one is declared (Content-Length > 0) or chunked. (Fastify reads
 * `headers` for every request, for its Connection check: Node has built it by now.)
 */
export function hasBody(raw: IncomingMessage): boolean {
  const length = raw.headers['content-length'];
  return (length !== undefined && length !== '0') || raw.headers['transfer-encoding'] !== undefined;
}

/**
 * How long a request may take to arrive. Node's `requestTimeout` is one figure for the whole
 * server, so a 100 MB upload over a slow link would be cut like a stalled JSON body: it is off
 * (`requestTimeout: 0`), and the deadline is kept here, per request, instead:
 *
 * - without a body, a request is whole with its headers, which Node's `headersTimeout` bounds
 *   (`registerRequestDeadlines`);
 * - with one, its last byte must arrive within REQUEST_TIMEOUT_MS of its headers;
 * - an upload route's (`config.upload`) may take up to UPLOAD_TIMEOUT_MS, as long as no
 *   UPLOAD_IDLE_TIMEOUT_MS passes without a byte. Time the server itself holds the body back
 *   (its buffer is full: the store is slower than the client) is not the client's idleness.
 *
 * A request cut off gets what Node's own timeout gives (the `clientError` path: a 408
 * problem+json, `Connection: close`) while nothing has been answered yet; after an answer,
 * the connection is closed. Either way the body's reader sees the stream fail, and cleans up
 * as for a client that went away.
 *
 * Called from the hook every request passes (security.ts), only for requests with a body.
 */
export function armRequestDeadline(request: FastifyRequest, reply: FastifyReply, settings: DeadlineSettings): void {
  const raw = request.raw;
  const socket = raw.socket as Socket | null;
  if (typeof socket?.destroy !== 'function') return; // an injected request (tests) has no connection
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const clear = () => {
    clearTimeout(timer);
    raw.off('end', clear);
    socket.off('close', clear);
  };
  const expire = () => {
    clear();
    if (socket.destroyed || raw.complete) return;
    if (reply.raw.headersSent) {
      socket.destroy();
      return;
    }
    const err = Object.assign(new Error('the request did not arrive in time'), { code: 'ERR_HTTP_REQUEST_TIMEOUT' });
    request.server.server.emit('clientError', err, socket);
    // The answer is on its way and the connection half-closed; a client still sending after
    // LINGER_MS is cut off.
    setTimeout(() => socket.destroy(), LINGER_MS).unref();
  };
  raw.once('end', clear);
  socket.once('close', clear);

  if (request.routeOptions.config.upload !== true) {
    timer = setTimeout(expire, settings.requestTimeoutMs).unref();
    return;
  }
  // An upload: looked at a few times per idle period, for bytes read or a full buffer.
  const { uploadIdleTimeoutMs: idleMs, uploadTimeoutMs: totalMs } = settings;
  let lastBytes = socket.bytesRead;
  let lastProgress = started;
  const next = (now: number) => setTimeout(check, Math.max(10, Math.min(idleMs / 4, started + totalMs - now))).unref();
  const check = () => {
    const now = Date.now();
    if (socket.bytesRead !== lastBytes || raw.readableLength >= raw.readableHighWaterMark) {
      lastBytes = socket.bytesRead;
      lastProgress = now;
    }
    if (now - lastProgress >= idleMs || now - started >= totalMs) return expire();
    timer = next(now);
  };
  timer = next(started);
}

/**
 * Node's own request deadline off (kept per request by `armRequestDeadline`); its header
 * deadline kept, at most REQUEST_TIMEOUT_MS.
 */
export function registerRequestDeadlines(app: FastifyInstance, config: Readonly<Config>): void {
  app.server.requestTimeout = 0;
  app.server.headersTimeout = Math.min(60_000, config.server.requestTimeoutMs);
}
