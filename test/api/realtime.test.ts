import { createHash } from 'node:crypto';
import { connect as tcpConnect } from 'node:net';
import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import WebSocket from 'ws';
import { revokedSessionKey } from '../../src/modules/auth/revocation.js';
import { AUTH_TEST_ENV, bearer, expectProblem, makeAdmin, signedInUser, signIn, type SignedIn } from '../helpers/auth.js';
import { connect, connectWithTicket, eventually, refusal, settle, ticketFor, wsBase, type EventClient } from '../helpers/realtime.js';
import { BACKEND, TEST_REDIS_URL } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

describe(`realtime events over WebSocket (${BACKEND})`, () => {
  let t: TestApp;
  let alice: SignedIn;
  let bob: SignedIn;
  const open: EventClient[] = [];

  /** A socket closed after the test, whatever happens. */
  async function track(client: Promise<EventClient>): Promise<EventClient> {
    const c = await client;
    open.push(c);
    return c;
  }

  beforeAll(async () => {
    t = await createTestApp({ env: { ...AUTH_TEST_ENV, WS_MAX_CONNECTIONS_PER_USER: '10' } });
    alice = await signedInUser(t);
    bob = await signedInUser(t);
    await wsBase(t);
  });
  afterEach(async () => {
    for (const c of open.splice(0)) c.ws.terminate();
    await eventually(() => expect(t.container.realtime.hub.connectionCount).toBe(0));
  });
  afterAll(() => t?.close());

  describe('tickets', () => {
    it('POST /events/ticket needs an access token', async () => {
      expectProblem(await t.app.inject({ method: 'POST', url: '/api/v1/events/ticket' }), 401, 'unauthorized');
    });

    it('answers a 256-bit ticket, valid 30 s, not cacheable; only its hash is stored', async () => {
      const res = await t.app.inject({ method: 'POST', url: '/api/v1/events/ticket', headers: bearer(alice.accessToken) });
      expect(res.statusCode).toBe(200);
      expect(res.headers['cache-control']).toBe('no-store');
      const { ticket, expires_in } = res.json() as { ticket: string; expires_in: number };
      expect(expires_in).toBe(30);
      expect(ticket).toMatch(/^wst_[A-Za-z0-9_-]{43}$/); // 32 random bytes
      expect(await t.container.kv.get(`ws-ticket:${ticket}`)).toBeNull();
      expect(await t.container.kv.get(`ws-ticket:${createHash('sha256').update(ticket).digest('base64url')}`)).not.toBeNull();
    });

    it('a ticket connects once; the second use is refused with 401', async () => {
      const ticket = await ticketFor(t, alice.accessToken);
      await track(connect(t, `?ticket=${ticket}`));
      const again = await refusal(t, `?ticket=${ticket}`);
      expect(again.status).toBe(401);
      expect(again.body).toMatchObject({ code: 'ticket_invalid' });
    });

    it('an expired ticket is refused (the grant says when it expires, and the store drops it after 30 s)', async () => {
      const ticket = await ticketFor(t, alice.accessToken);
      const key = `ws-ticket:${createHash('sha256').update(ticket).digest('base64url')}`;
      if (BACKEND === 'postgres') {
        const redis = new Redis(TEST_REDIS_URL);
        try {
          const ttl = await redis.pttl(t.config.redis.keyPrefix + key);
          expect(ttl).toBeGreaterThan(25_000);
          expect(ttl).toBeLessThanOrEqual(30_000);
        } finally {
          redis.disconnect();
        }
      }
      vi.useFakeTimers({ toFake: ['Date'], now: Date.now() + 31_000 });
      try {
        expect((await refusal(t, `?ticket=${ticket}`)).body).toMatchObject({ code: 'ticket_invalid' });
      } finally {
        vi.useRealTimers();
      }
    });

    it('an upgrade refused before its route runs (an unknown path, a root check) is answered, then its connection closed', async () => {
      // The socket leaves Node's HTTP server when an upgrade begins: a refusal that no route of
      // @fastify/websocket saw used to leave it open (half-open after the client's FIN), and
      // the server's close waited for it.
      const port = Number(new URL(await wsBase(t)).port);
      for (const [path, status] of [['/api/v1/nothing-here', 404], ['/api/v1/events?ticket=%00', 400]] as const) {
        const raw = tcpConnect({ host: '127.0.0.1', port });
        raw.on('error', () => undefined);
        let answer = '';
        raw.on('data', (c: Buffer) => (answer += String(c)));
        const ended = new Promise<void>((resolve) => raw.once('end', () => resolve()));
        raw.write(
          `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
        // The client never closes: the server must.
        const timeout = new Promise<'open'>((resolve) => setTimeout(() => resolve('open'), 3_000));
        expect(await Promise.race([ended.then(() => 'ended' as const), timeout]), path).toBe('ended');
        expect(answer, path).toMatch(new RegExp(`^HTTP/1.1 ${status} `));
        expect(answer).toMatch(/content-type: application\/problem\+json/i);
        raw.destroy();
      }
    });

    it('garbage, empty and oversized tickets are 401, never a 500', async () => {
      for (const bad of ['nope', '', 'wst_' + 'a'.repeat(43), 'x'.repeat(5000), '%ff%fe']) {
        const r = await refusal(t, `?ticket=${bad}`);
        expect(r.status, bad).toBe(401);
      }
      // A NUL in any URL is refused before the route (a 400 problem), a ticket's included.
      expect((await refusal(t, '?ticket=%00')).status).toBe(400);
      const twice = await refusal(t, `?ticket=a&ticket=b`);
      expect(twice.status).toBe(400);
    });

    it('a ticket in a header is refused and void from then on', async () => {
      for (const headers of [
        (tk: string) => ({ authorization: `Bearer ${tk}` }),
        (tk: string) => ({ 'x-ticket': tk }),
        (tk: string) => ({ cookie: `ticket=${tk}` }),
      ]) {
        const ticket = await ticketFor(t, alice.accessToken);
        const r = await refusal(t, '', { headers: headers(ticket) });
        expect(r.status).toBe(400);
        expect(r.body).toMatchObject({ code: 'ticket_misplaced' });
        expect((await refusal(t, `?ticket=${ticket}`)).body).toMatchObject({ code: 'ticket_invalid' });
      }
      // As a WebSocket subprotocol (a common way to smuggle credentials past browsers).
      const ticket = await ticketFor(t, alice.accessToken);
      const r = await refusal(t, '', { headers: { 'sec-websocket-protocol': ticket } });
      expect(r.status).toBe(400);
      // A ticket is not an access token either.
      const asToken = await t.app.inject({ method: 'POST', url: '/api/v1/events/ticket', headers: bearer(await ticketFor(t, alice.accessToken)) });
      expect(asToken.statusCode).toBe(401);
    });

    it('tickets never reach the log', async () => {
      const ticket = await ticketFor(t, alice.accessToken);
      await track(connect(t, `?ticket=${ticket}`));
      await refusal(t, `?ticket=${ticket}`);
      const lines = JSON.stringify(t.logs());
      expect(lines).toContain('/api/v1/events?ticket=[redacted]');
      expect(lines).not.toContain(ticket);
    });

    it('a ticket and an Authorization header together are refused', async () => {
      const ticket = await ticketFor(t, alice.accessToken);
      const r = await refusal(t, `?ticket=${ticket}`, { headers: bearer(alice.accessToken) });
      expect(r.status).toBe(400);
    });
  });

  describe('connecting', () => {
    it('an Authorization: Bearer header works too (non-browser clients)', async () => {
      const c = await track(connect(t, '', { headers: bearer(alice.accessToken) }));
      await t.container.events.publish({ type: 'file.created', userId: alice.id, data: { id: 'f1' } });
      expect(await c.next()).toMatchObject({ type: 'file.created', data: { id: 'f1' } });
    });

    it('no credentials: 401 with WWW-Authenticate; a bad token: 401', async () => {
      const none = await refusal(t);
      expect(none.status).toBe(401);
      expect(none.headers['www-authenticate']).toMatch(/^Bearer/);
      expect((await refusal(t, '', { headers: { authorization: 'Bearer not.a.jwt' } })).status).toBe(401);
    });

    it('a plain GET (no upgrade) is 426 Upgrade Required', async () => {
      const res = await t.app.inject({ url: '/api/v1/events', headers: bearer(alice.accessToken) });
      expectProblem(res, 426, 'upgrade_required');
      expect(res.headers.upgrade).toBe('websocket');
    });

    it('the Origin must be allowed: a foreign page is refused with 403, localhost (development) and the same origin pass', async () => {
      const foreign = await refusal(t, '', { headers: { ...bearer(alice.accessToken), origin: 'https://evil.example' } });
      expect(foreign.status).toBe(403);
      expect(foreign.body).toMatchObject({ code: 'origin_not_allowed' });
      expect((await refusal(t, '', { headers: { ...bearer(alice.accessToken), origin: 'null' } })).status).toBe(403);
      const base = await wsBase(t);
      await track(connect(t, '', { headers: bearer(alice.accessToken), origin: 'http://localhost:5173' }));
      await track(connect(t, '', { headers: bearer(alice.accessToken), origin: base.replace('ws:', 'http:') }));
    });

    it('a revoked session cannot connect: neither with its token nor with a ticket it got earlier', async () => {
      const u = await signedInUser(t);
      const ticket = await ticketFor(t, u.accessToken);
      const out = await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(u.accessToken) });
      expect(out.statusCode).toBe(204);
      expect((await refusal(t, '', { headers: bearer(u.accessToken) })).status).toBe(401);
      expect((await refusal(t, `?ticket=${ticket}`)).status).toBe(401);
    });

    it(`the per-user cap: the 11th connection is refused with 429, and a closed one frees its place`, async () => {
      const u = await signedInUser(t);
      const clients = [];
      for (let i = 0; i < 10; i++) clients.push(await track(connectWithTicket(t, u.accessToken)));
      const over = await refusal(t, `?ticket=${await ticketFor(t, u.accessToken)}`);
      expect(over.status).toBe(429);
      expect(over.body).toMatchObject({ code: 'too_many_connections' });
      // another user is not affected
      await track(connectWithTicket(t, bob.accessToken));
      clients[0]!.close();
      await clients[0]!.closed;
      await eventually(async () => {
        await track(connectWithTicket(t, u.accessToken));
      });
    });
  });

  describe('events', () => {
    it('files, preferences and sessions reach their owner as {type, data, at}, and no one else', async () => {
      const a = await track(connectWithTicket(t, alice.accessToken));
      const a2 = await track(connectWithTicket(t, alice.accessToken));
      const b = await track(connectWithTicket(t, bob.accessToken));
      const at = new Date().toISOString();
      for (const type of ['file.created', 'file.deleted', 'preferences.updated'] as const) {
        await t.container.events.publish({ type, userId: alice.id, data: { marker: type }, at });
      }
      for (const c of [a, a2]) {
        for (const type of ['file.created', 'file.deleted', 'preferences.updated']) {
          expect(await c.next((m) => m.type === type)).toEqual({ type, data: { marker: type }, at });
        }
      }
      await settle();
      expect(b.messages).toEqual([]);
    });

    it('profile.updated: the owner sees it all, others what the privacy settings show, private profiles only admins', async () => {
      const owner = await signedInUser(t, { displayName: 'Owner' });
      const admin = await signedInUser(t);
      await makeAdmin(t, admin.id);
      const mine = await track(connectWithTicket(t, owner.accessToken));
      const theirs = await track(connectWithTicket(t, bob.accessToken));
      const admins = await track(connectWithTicket(t, admin.accessToken));
      const patch = (url: string, payload: object) => t.app.inject({ method: 'PATCH', url: `/api/v1/users/me/${url}`, headers: bearer(owner.accessToken), payload });

      expect((await patch('preferences', { privacy: { profile_visibility: 'users', show_email: false, show_activity: false } })).statusCode).toBe(200);
      expect((await patch('profile', { display_name: 'Renamed' })).statusCode).toBe(200);
      const own = await mine.next((m) => m.type === 'profile.updated' && m.data.display_name === 'Renamed');
      expect(own.data).toMatchObject({ id: owner.id, email: owner.email });
      const seen = await theirs.next((m) => m.type === 'profile.updated' && m.data.display_name === 'Renamed');
      expect(seen.data.id).toBe(owner.id);
      expect(seen.data).not.toHaveProperty('email');
      expect(seen.data).not.toHaveProperty('last_login_at');
      expect(theirs.messages.some((m) => m.type === 'preferences.updated')).toBe(false);
      expect((await admins.next((m) => m.type === 'profile.updated' && m.data.display_name === 'Renamed')).data).toMatchObject({ email: owner.email });

      expect((await patch('preferences', { privacy: { profile_visibility: 'private' } })).statusCode).toBe(200);
      expect((await patch('profile', { display_name: 'Hidden' })).statusCode).toBe(200);
      await mine.next((m) => m.type === 'profile.updated' && m.data.display_name === 'Hidden');
      await admins.next((m) => m.type === 'profile.updated' && m.data.display_name === 'Hidden');
      await settle();
      expect(theirs.messages.filter((m) => m.type === 'profile.updated' && m.data.id === owner.id).map((m) => m.data.display_name)).toEqual(['Owner', 'Renamed']); // the privacy change announced the profile too
    });

    it('answers an application ping with a pong', async () => {
      const c = await track(connectWithTicket(t, alice.accessToken));
      c.ws.send(JSON.stringify({ type: 'ping' }));
      expect(await c.next((m) => m.type === 'pong')).toMatchObject({ type: 'pong' });
    });

    it('revocation while connected: that session gets session.revoked, then close 4001 within a second; other sessions stay', async () => {
      const other = await signIn(t, alice);
      const revoked = await track(connectWithTicket(t, alice.accessToken));
      const revoked2 = await track(connect(t, '', { headers: bearer(alice.accessToken) }));
      const stays = await track(connectWithTicket(t, other.accessToken));
      const started = Date.now();
      const res = await t.app.inject({ method: 'DELETE', url: `/api/v1/auth/sessions/${alice.sessionId}`, headers: bearer(other.accessToken) });
      expect(res.statusCode).toBe(204);
      for (const c of [revoked, revoked2]) {
        expect(await c.closed).toEqual({ code: 4001, reason: 'session revoked' });
        expect(c.messages.at(-1)).toMatchObject({ type: 'session.revoked', data: { session_id: alice.sessionId } });
      }
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(stays.ws.readyState).toBe(WebSocket.OPEN);
      alice = await signIn(t, alice); // the rest of the suite needs a live session
    });

    it('a session that ended without a revocation (it expired) has its sockets closed by the periodic database check; live ones stay', async () => {
      const ending = await signedInUser(t);
      const live = await signedInUser(t);
      const c = await track(connectWithTicket(t, ending.accessToken));
      const stays = await track(connectWithTicket(t, live.accessToken));
      await t.container.database.db.updateTable('sessions').set({ expires_at: new Date(Date.now() - 1_000) }).where('id', '=', ending.sessionId).execute();
      await t.container.realtime.hub.checkSessionsEnded(); // what runs every minute
      expect(await c.closed).toEqual({ code: 4001, reason: 'session ended' });
      await settle();
      expect(stays.ws.readyState).toBe(WebSocket.OPEN);
    });

    it('a revocation whose event never arrived (lost in a pub/sub reconnect) still closes the socket within a second', async () => {
      const u = await signedInUser(t);
      const c = await track(connectWithTicket(t, u.accessToken));
      const started = Date.now();
      await t.container.kv.set(revokedSessionKey(u.sessionId), '1', 60_000); // the revocation list only, no event
      expect(await c.closed).toEqual({ code: 4001, reason: 'session revoked' });
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(c.messages.at(-1)).toMatchObject({ type: 'session.revoked', data: { session_id: u.sessionId } });
    });

    it('logout-all closes every socket of the user', async () => {
      const u = await signedInUser(t);
      const second = await signIn(t, u);
      const c1 = await track(connectWithTicket(t, u.accessToken));
      const c2 = await track(connectWithTicket(t, second.accessToken));
      expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout-all', headers: bearer(u.accessToken) })).statusCode).toBe(204);
      expect((await c1.closed).code).toBe(4001);
      expect((await c2.closed).code).toBe(4001);
    });

    it('a session.revoked event closes the session at once and tells the user’s other sockets', async () => {
      const other = await signIn(t, alice);
      const target = await track(connectWithTicket(t, other.accessToken));
      const watcher = await track(connectWithTicket(t, alice.accessToken));
      await t.container.events.publish({ type: 'session.revoked', userId: alice.id, sessionId: other.sessionId, data: { session_id: other.sessionId } });
      expect((await target.closed).code).toBe(4001);
      expect(await watcher.next((m) => m.type === 'session.revoked')).toMatchObject({ data: { session_id: other.sessionId } });
      expect(watcher.ws.readyState).toBe(WebSocket.OPEN);
    });
  });

  describe('bad input and unhealthy peers', () => {
    async function expectServerFine() {
      expect((await t.app.inject('/health')).statusCode).toBe(200);
      const probe = await track(connectWithTicket(t, bob.accessToken));
      await t.container.events.publish({ type: 'file.created', userId: bob.id, data: { probe: true } });
      expect(await probe.next((m) => m.type === 'file.created')).toMatchObject({ data: { probe: true } });
    }

    it('a 1 MB frame closes that socket (1009); the server is fine', async () => {
      const c = await track(connectWithTicket(t, alice.accessToken));
      c.ws.send(JSON.stringify({ type: 'ping', pad: 'x'.repeat(1024 * 1024) }));
      expect((await c.closed).code).toBe(1009);
      await expectServerFine();
    });

    it('a frame that is not JSON, and a binary frame, close the socket (1003); the server is fine', async () => {
      const text = await track(connectWithTicket(t, alice.accessToken));
      text.ws.send('this is not json {');
      expect((await text.closed).code).toBe(1003);
      const binary = await track(connectWithTicket(t, alice.accessToken));
      binary.ws.send(Buffer.from([1, 2, 3]));
      expect((await binary.closed).code).toBe(1003);
      await expectServerFine();
    });

    it('a flood of frames closes the socket (1008)', async () => {
      const c = await track(connectWithTicket(t, alice.accessToken));
      for (let i = 0; i < 100; i++) c.ws.send('{}');
      expect((await c.closed).code).toBe(1008);
    });

    it('heartbeats: a peer that stops answering pings is cut off; a live one stays', async () => {
      const dead = await track(connectWithTicket(t, alice.accessToken, { autoPong: false }));
      const live = await track(connectWithTicket(t, alice.accessToken));
      const hub = t.container.realtime.hub;
      hub.heartbeat(); // ping
      await settle(100);
      hub.heartbeat(); // no pong from `dead` since the last ping
      expect((await dead.closed).code).toBe(1006);
      expect(live.ws.readyState).toBe(WebSocket.OPEN);
    });

    it('a consumer that stops reading is disconnected once its buffer passes the bound; memory does not grow', async () => {
      const ticket = await ticketFor(t, alice.accessToken);
      const port = new URL(await wsBase(t)).port;
      // A raw client that completes the handshake and then never reads again.
      const raw = tcpConnect({ host: '127.0.0.1', port: Number(port) });
      raw.setNoDelay(true);
      const closedRaw = new Promise<void>((resolve) => raw.on('close', () => resolve()));
      raw.on('error', () => undefined);
      await new Promise<void>((resolve) => {
        raw.once('data', () => {
          raw.pause();
          resolve();
        });
        raw.write(
          `GET /api/v1/events?ticket=${ticket} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
            `Sec-WebSocket-Key: ${Buffer.from('0123456789abcdef').toString('base64')}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
        );
      });
      const hub = t.container.realtime.hub;
      await eventually(() => expect(hub.connectionCount).toBe(1));
      const chunk = 'x'.repeat(128 * 1024);
      for (let i = 0; i < 200 && hub.connectionCount > 0; i++) {
        await t.container.events.publish({ type: 'file.created', userId: alice.id, data: { chunk } });
        await settle(2);
      }
      await eventually(() => expect(hub.connectionCount).toBe(0), 5_000);
      raw.destroy();
      await closedRaw;
      await expectServerFine();
    });
  });

  it('metrics: open sockets, events published and delivered, pub/sub lag', async () => {
    const c = await track(connectWithTicket(t, alice.accessToken));
    await t.container.events.publish({ type: 'file.deleted', userId: alice.id, data: { id: 'm1' } });
    await c.next((m) => m.type === 'file.deleted');
    const text = (await t.app.inject('/metrics')).body;
    expect(text).toMatch(/^tessera_ws_connections 1$/m);
    expect(text).toMatch(/^tessera_events_published_total\{type="file.deleted"\} [1-9]/m);
    expect(text).toMatch(/^tessera_events_delivered_total\{type="file.deleted"\} [1-9]/m);
    expect(text).toMatch(/^tessera_pubsub_lag_seconds_count [1-9]/m);
  });

  it('closing the server closes its sockets with 1001 (going away)', async () => {
    const other = await createTestApp({ env: AUTH_TEST_ENV });
    try {
      const u = await signedInUser(other);
      const c = await connectWithTicket(other, u.accessToken);
      const closing = other.app.close();
      expect((await c.closed).code).toBe(1001);
      await closing;
    } finally {
      await other.close();
    }
  });
});
