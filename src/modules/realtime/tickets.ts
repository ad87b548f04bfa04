import { createHash, randomBytes } from 'node:crypto';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import { AppError } from '../../errors/app-error.js';

/** Who a ticket lets in: the user and the session of the access token that asked for it. */
export interface TicketGrant {
  userId: string;
  sessionId: string;
  role: 'user' | 'admin';
}

interface StoredTicket extends TicketGrant {
  /** ms since the epoch; checked as well as the store's TTL, so expiry never rests on one clock */
  expiresAt: number;
}

// Browsers can't set headers on a WebSocket, so a short-lived, single-use ticket in the URL
// stands in for the access token. 256 random bits; only its SHA-256 is stored.
export const TICKET_TTL_SECONDS = 30;
const TICKET_PREFIX = 'wst_';
const TICKET_SHAPE = /^wst_[A-Za-z0-9_-]{43}$/;
const TICKET_ANYWHERE = /wst_[A-Za-z0-9_-]{43}/;

const ticketKey = (ticket: string) => `ws-ticket:${createHash('sha256').update(ticket).digest('base64url')}`;

export function looksLikeTicket(value: string): boolean {
  return TICKET_SHAPE.test(value);
}

/** A ticket found in any of these header values (where it does not belong), or null. */
export function ticketInHeaders(headers: Record<string, string | string[] | undefined>): string | null {
  for (const value of Object.values(headers)) {
    for (const v of Array.isArray(value) ? value : [value]) {
      const found = v === undefined ? null : TICKET_ANYWHERE.exec(v);
      if (found) return found[0];
    }
  }
  return null;
}

/**
 * Tickets live in the shared key-value store, so one issued by instance A is accepted by
 * instance B, and `take` (read-and-delete in one step) makes them single-use across instances.
 */
export class TicketService {
  constructor(private readonly kv: KeyValueStore) {}

  async issue(grant: TicketGrant): Promise<{ ticket: string; expires_in: number }> {
    const ticket = TICKET_PREFIX + randomBytes(32).toString('base64url');
    const stored: StoredTicket = { ...grant, expiresAt: Date.now() + TICKET_TTL_SECONDS * 1000 };
    await unavailableAsAppError(() => this.kv.set(ticketKey(ticket), JSON.stringify(stored), TICKET_TTL_SECONDS * 1000));
    return { ticket, expires_in: TICKET_TTL_SECONDS };
  }

  /** The grant, once; null when unknown, expired or already used. Throws 503 when the store can't answer. */
  async redeem(ticket: string): Promise<TicketGrant | null> {
    if (!looksLikeTicket(ticket)) return null;
    const value = await unavailableAsAppError(() => this.kv.take(ticketKey(ticket)));
    if (value === null) return null;
    let stored: StoredTicket;
    try {
      stored = JSON.parse(value) as StoredTicket;
    } catch {
      return null;
    }
    if (!(stored.expiresAt > Date.now())) return null;
    return { userId: stored.userId, sessionId: stored.sessionId, role: stored.role };
  }

  /** Voids a ticket that showed up where it could have been logged (a header). */
  async burn(ticket: string): Promise<void> {
    await unavailableAsAppError(() => this.kv.del(ticketKey(ticket)));
  }
}

/** A key-value store that cannot answer is a 503 here: no ticket is ever taken on trust. */
export async function unavailableAsAppError<T>(operation: () => Promise<T>, detail = 'Realtime connections cannot be checked right now'): Promise<T> {
  try {
    return await operation();
  } catch (err) {
    if (err instanceof AppError) throw err;
    throw new AppError('kv_unavailable', { detail, cause: err });
  }
}
