import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'vitest';
import WebSocket, { type ClientOptions } from 'ws';
import type { TestApp } from './test-app.js';

export interface EventMessage {
  type: string;
  data: Record<string, unknown>;
  at: string;
}

/** A connected test client: what it received, and how it was closed. */
export interface EventClient {
  ws: WebSocket;
  messages: EventMessage[];
  /** the next message (already received or yet to come) that matches */
  next(match?: (m: EventMessage) => boolean, timeoutMs?: number): Promise<EventMessage>;
  /** resolves with the close code and reason once the socket is closed */
  closed: Promise<{ code: number; reason: string }>;
  close(): void;
}

/** What a refused upgrade answered (an HTTP status and its problem document). */
export interface Refusal {
  status: number;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
}

const listening = new WeakMap<TestApp, Promise<string>>();

/** The app listening on a free loopback port; the ws:// base URL (listens once per app). */
export function wsBase(t: TestApp): Promise<string> {
  let base = listening.get(t);
  if (!base) {
    base = t.app.listen({ port: 0, host: '127.0.0.1' }).then(() => `ws://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`);
    listening.set(t, base);
  }
  return base;
}

export async function httpBase(t: TestApp): Promise<string> {
  return (await wsBase(t)).replace(/^ws:/, 'http:');
}

/** POST /events/ticket with the access token: the ticket (200 expected). */
export async function ticketFor(t: TestApp, accessToken: string): Promise<string> {
  const res = await t.app.inject({ method: 'POST', url: '/api/v1/events/ticket', headers: { authorization: `Bearer ${accessToken}` } });
  expect(res.statusCode, res.body).toBe(200);
  const body = res.json() as { ticket: string; expires_in: number };
  expect(body.expires_in).toBe(30);
  return body.ticket;
}

/** Opens a socket; rejects with a Refusal when the upgrade is answered with an HTTP error. */
export async function connect(t: TestApp, query = '', options: ClientOptions = {}): Promise<EventClient> {
  const url = `${await wsBase(t)}/api/v1/events${query}`;
  const ws = new WebSocket(url, options);
  const messages: EventMessage[] = [];
  const waiters: { match: (m: EventMessage) => boolean; resolve: (m: EventMessage) => void }[] = [];
  ws.on('message', (data) => {
    const m = JSON.parse(String(data)) as EventMessage;
    messages.push(m);
    for (const w of [...waiters]) {
      if (w.match(m)) {
        waiters.splice(waiters.indexOf(w), 1);
        w.resolve(m);
      }
    }
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.on('close', (code, reason) => resolve({ code, reason: String(reason) })));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += String(c)));
      res.on('end', () => {
        reject(Object.assign(new Error(`refused: ${res.statusCode}`), { refusal: { status: res.statusCode ?? 0, headers: res.headers, body: body ? (JSON.parse(body) as Record<string, unknown>) : {} } }));
        ws.terminate();
      });
    });
    ws.once('error', reject);
  });
  ws.on('error', () => undefined);
  return {
    ws,
    messages,
    closed,
    close: () => ws.close(),
    next(match = () => true, timeoutMs = 3_000) {
      const seen = messages.find(match);
      if (seen) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching message within ${timeoutMs} ms; got ${JSON.stringify(messages)}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (m) => {
            clearTimeout(timer);
            resolve(m);
          },
        });
      });
    },
  };
}

/** Connects with a fresh ticket for the access token. */
export async function connectWithTicket(t: TestApp, accessToken: string, options: ClientOptions = {}): Promise<EventClient> {
  return connect(t, `?ticket=${encodeURIComponent(await ticketFor(t, accessToken))}`, options);
}

/** Expects the upgrade to be refused; returns the HTTP answer. */
export async function refusal(t: TestApp, query = '', options: ClientOptions = {}): Promise<Refusal> {
  try {
    const client = await connect(t, query, options);
    client.close();
  } catch (err) {
    const r = (err as { refusal?: Refusal }).refusal;
    if (r) return r;
    throw err;
  }
  throw new Error('the connection was accepted');
}

/** Waits until `check` passes (polling), or fails with its last error. */
export async function eventually(check: () => void | Promise<void>, timeoutMs = 3_000, stepMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}

/** A moment for anything in flight (a published event) to arrive, to assert that nothing did. */
export function settle(ms = 150): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
