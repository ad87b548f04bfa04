import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { AUTH_TEST_ENV, bearer, expectProblem, me, signedInUser, signIn, type SignedIn } from '../helpers/auth.js';
import { connect, connectWithTicket, eventually, refusal, type EventClient } from '../helpers/realtime.js';
import { startPrivateRedis, type PrivateRedis } from '../helpers/redis-server.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Redis crashes and comes back while the app runs (issue 7, faults): readiness says so, nothing
 * security-relevant fails open, and everything recovers without restarting the app.
 */
describe(`Redis down and back (${BACKEND})`, () => {
  let redis: PrivateRedis;
  let base: TestApp | undefined; // postgres: owns the database the app under test shares
  let t: TestApp;
  let user: SignedIn;
  let socket: EventClient;
  let halfRevoked: SignedIn; // its logout was answered 503 during the outage
  let revokedBefore: SignedIn; // signed out before the outage

  beforeAll(async () => {
    redis = await startPrivateRedis();
    const env = { ...AUTH_TEST_ENV, REDIS_URL: redis.url, REDIS_KEY_PREFIX: 'tessera:faults:' };
    if (BACKEND === 'postgres') {
      // The harness points a first app at the shared Redis; a second one on the same database takes ours.
      base = await createTestApp({ env: AUTH_TEST_ENV });
      t = await createTestApp({ sameStoresAs: base, env });
    } else {
      t = await createTestApp({ env });
    }
    expect(t.container.kv.kind).toBe('redis');
    user = await signedInUser(t);
    socket = await connectWithTicket(t, user.accessToken);
  });
  afterAll(async () => {
    socket?.ws.terminate();
    await t?.close();
    await base?.close();
    await redis?.stop();
  });

  it('while Redis is down: /ready is 503 with redis down; tokens, logout, tickets and new sockets are 503, never accepted on trust', async () => {
    await t.container.events.publish({ type: 'file.created', userId: user.id, data: { n: 1 } });
    await socket.next((m) => m.data.n === 1);
    const second = await signIn(t, user);
    halfRevoked = second;
    revokedBefore = await signIn(t, user);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(revokedBefore.accessToken) })).statusCode).toBe(204);

    await redis.stop();

    const ready = await t.app.inject('/ready');
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', redis: 'down', database: 'ok' });

    // A token whose revocation state cannot be read is refused with 503 (not accepted, not 401).
    expectProblem(await me(t, user.accessToken), 503, 'kv_unavailable');
    // A revocation that cannot be recorded is a 503, not a 204 that didn't happen.
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(second.accessToken) })).statusCode).toBe(503);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refresh_token: second.refreshToken } })).statusCode).toBe(503);
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/events/ticket', headers: bearer(user.accessToken) })).statusCode).toBe(503);
    const refused = await refusal(t, '', { headers: bearer(user.accessToken) });
    expect(refused.status).toBe(503);

    // The socket already open stays (it gets nothing meanwhile) and the server answers quickly.
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
    expect((await t.app.inject('/health')).statusCode).toBe(200);

    // Answers come within the store's command timeout, never a hang.
    const started = Date.now();
    await me(t, user.accessToken);
    expect(Date.now() - started).toBeLessThan(3_000);
  });

  it('once Redis is back (same port, empty): ready again, tokens work, and the open socket receives events again', async () => {
    await redis.start();
    await eventually(async () => expect((await t.app.inject('/ready')).statusCode).toBe(200), 10_000, 200);
    await eventually(async () => expect((await me(t, user.accessToken)).statusCode).toBe(200), 5_000, 100);

    // Fan-out resumes once the subscriber connection has resubscribed.
    let n = 100;
    await eventually(
      async () => {
        n += 1;
        await t.container.events.publish({ type: 'file.created', userId: user.id, data: { n } });
        await socket.next((m) => m.data.n === n, 300);
      },
      10_000,
      0,
    );
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);

    // New sockets and revocations work again.
    const fresh = await connectWithTicket(t, user.accessToken);
    const other = await signIn(t, user);
    const onOther = await connect(t, '', { headers: bearer(other.accessToken) });
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(other.accessToken) })).statusCode).toBe(204);
    expect((await onOther.closed).code).toBe(4001);
    expect((await me(t, other.accessToken)).statusCode).toBe(401);
    fresh.ws.terminate();
  });

  // Redis came back empty: the guard notices the missing "revocations loaded" marker and
  // replays the list from the database before trusting an absent entry.
  it('a session signed out before Redis restarted empty stays signed out', async () => {
    expect((await me(t, revokedBefore.accessToken)).statusCode).toBe(401);
  });

  // The logout answered 503 had already marked the session revoked in the database; the retry
  // finds it revoked there and writes the key-value entry again.
  it('a logout answered 503 during the outage, retried afterwards, signs the session out', async () => {
    expect((await t.app.inject({ method: 'POST', url: '/api/v1/auth/logout', payload: { refresh_token: halfRevoked.refreshToken } })).statusCode).toBe(204);
    expect((await me(t, halfRevoked.accessToken)).statusCode).toBe(401);
  });
});
