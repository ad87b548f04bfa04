import { API, api } from './api/client';

/**
 * The realtime channel (SPEC "Realtime"): a single-use ticket from POST /events/ticket, then
 * the WebSocket. `session.revoked` for this page's session signs it out at once (close code
 * 4001 means the same); other events reach whoever listens (the files page, the theme).
 * Dropped connections come back with a growing delay.
 */

export interface RealtimeEvent {
  type: string;
  data: Record<string, unknown>;
  at: string;
}

interface Options {
  sessionId: string | null;
  onRevoked: () => void;
}

const SESSION_REVOKED_CLOSE = 4001;
const listeners = new Set<(event: RealtimeEvent) => void>();
let socket: WebSocket | null = null;
let options: Options | null = null;
let retryTimer: number | undefined;
let attempt = 0;

/** Listen to realtime events; returns the unsubscribe function. */
export function onRealtimeEvent(listener: (event: RealtimeEvent) => void): () => void {
  listeners.add(listener);
  return () => {
    listeners.delete(listener);
  };
}

export function connectRealtime(next: Options): void {
  disconnectRealtime();
  options = next;
  attempt = 0;
  void open();
}

export function disconnectRealtime(): void {
  options = null;
  window.clearTimeout(retryTimer);
  if (socket) {
    const s = socket;
    socket = null;
    s.onclose = null;
    s.close(1000, 'signed out');
  }
}

function scheduleRetry(): void {
  if (!options) return;
  attempt += 1;
  const delay = Math.min(60_000, 1000 * 2 ** Math.min(attempt, 6)) * (0.75 + Math.random() / 2);
  retryTimer = window.setTimeout(() => void open(), delay);
}

async function open(): Promise<void> {
  const mine = options;
  if (!mine) return;
  let ticket: string;
  try {
    ticket = (await api<{ ticket: string }>('/events/ticket', { method: 'POST' })).ticket;
  } catch {
    scheduleRetry();
    return;
  }
  if (options !== mine) return;
  const scheme = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
  const ws = new WebSocket(`${scheme}//${window.location.host}${API}/events?ticket=${encodeURIComponent(ticket)}`);
  socket = ws;
  ws.onopen = () => {
    attempt = 0;
  };
  ws.onmessage = (message) => {
    let event: RealtimeEvent;
    try {
      event = JSON.parse(String(message.data)) as RealtimeEvent;
    } catch {
      return;
    }
    if (event.type === 'session.revoked' && mine.sessionId !== null && event.data.session_id === mine.sessionId) {
      mine.onRevoked();
      return;
    }
    for (const l of listeners) l(event);
  };
  ws.onclose = (e) => {
    if (socket !== ws) return;
    socket = null;
    if (e.code === SESSION_REVOKED_CLOSE) mine.onRevoked();
    else scheduleRetry();
  };
}
