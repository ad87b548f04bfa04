import type { WebSocket } from 'ws';
import type { ConnectionSlot } from './connection-slots.js';
import type { Viewer } from './event-audience.js';

/** The close codes this server sends (RFC 6455 §7.4.1; 4000–4999 are the application's own). */
export const CLOSE = {
  /** the server is shutting down: reconnect (to another instance) */
  goingAway: 1001,
  /** a binary frame, or text that is not JSON: this channel takes JSON text only */
  unsupportedData: 1003,
  /** too many client frames */
  policyViolation: 1008,
  /** a slow consumer, or the session cannot be verified right now: reconnect later */
  tryAgainLater: 1013,
  /** the session was signed out: the client signs out too, and must not reconnect with it */
  sessionRevoked: 4001,
} as const;

export interface ConnectionLimits {
  /** bytes queued for one socket beyond which it is a slow consumer and is dropped */
  maxBufferedBytes: number;
  /** client frames accepted per second before the socket is closed */
  maxFramesPerSecond: number;
  /** how long a closing socket may take to answer the close frame before it is cut */
  closeGraceMs: number;
}

const OPEN = 1; // WebSocket.OPEN

/** One open socket on this instance: its viewer, its slot under the per-user cap, its health. */
export class Connection {
  /** false once a ping went out with no pong since */
  private answeredPing = true;
  private closing = false;
  private frameWindowStart = 0;
  private framesInWindow = 0;

  constructor(
    readonly socket: WebSocket,
    readonly viewer: Viewer,
    readonly slot: ConnectionSlot,
    private readonly limits: ConnectionLimits,
  ) {
    socket.on('pong', () => {
      this.answeredPing = true;
    });
  }

  get isOpen(): boolean {
    return !this.closing && this.socket.readyState === OPEN;
  }

  /**
   * Queues one message; false when it was not sent. A consumer that lets `maxBufferedBytes` pile
   * up is disconnected rather than allowed to grow the server's memory.
   */
  send(text: string): boolean {
    if (!this.isOpen) return false;
    if (this.socket.bufferedAmount + text.length > this.limits.maxBufferedBytes) {
      this.close(CLOSE.tryAgainLater, 'slow consumer');
      return false;
    }
    this.socket.send(text);
    return true;
  }

  /** Sends the close frame; a peer that doesn't answer within the grace period is cut off. */
  close(code: number, reason: string): void {
    if (this.closing) return;
    this.closing = true;
    this.socket.close(code, reason);
    const cut = setTimeout(() => this.socket.terminate(), this.limits.closeGraceMs);
    cut.unref();
    this.socket.once('close', () => clearTimeout(cut));
  }

  /** One heartbeat: a peer that didn't answer the previous ping is dead and is cut off (false). */
  heartbeat(): boolean {
    if (!this.answeredPing) {
      this.socket.terminate();
      return false;
    }
    if (!this.isOpen) return true;
    this.answeredPing = false;
    this.socket.ping();
    return true;
  }

  /** Counts one client frame; false when the client is over its frame rate. */
  countFrame(now = Date.now()): boolean {
    if (now - this.frameWindowStart >= 1000) {
      this.frameWindowStart = now;
      this.framesInWindow = 0;
    }
    this.framesInWindow += 1;
    return this.framesInWindow <= this.limits.maxFramesPerSecond;
  }
}
