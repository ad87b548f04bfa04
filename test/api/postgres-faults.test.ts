import { Kysely, PostgresDialect } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { migrateUp } from '../../src/db/migrator.js';
import { AUTH_TEST_ENV, bearer, expectProblem, login, signedInUser, type SignedIn } from '../helpers/auth.js';
import { startPrivatePostgres, canRunPrivatePostgres, type PrivatePostgres } from '../helpers/postgres-server.js';
import { connectWithTicket, eventually, type EventClient } from '../helpers/realtime.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * PostgreSQL crashes and comes back while the app runs (issue 7, faults), on a private cluster
 * this suite starts, so no other suite's database is disturbed. Only on the postgres project:
 * the embedded database lives inside the process and cannot go away on its own.
 */
describe.runIf(BACKEND === 'postgres' && (await canRunPrivatePostgres()))('PostgreSQL down and back', () => {
  let cluster: PrivatePostgres;
  let base: TestApp;
  let t: TestApp;
  let user: SignedIn;
  let socket: EventClient;

  beforeAll(async () => {
    cluster = await startPrivatePostgres();
    const pool = new pg.Pool({ connectionString: cluster.url, max: 1 });
    const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
    await migrateUp(db);
    await db.destroy();
    base = await createTestApp({ env: AUTH_TEST_ENV });
    t = await createTestApp({ sameStoresAs: base, env: { ...AUTH_TEST_ENV, DATABASE_URL: cluster.url } });
    user = await signedInUser(t);
    socket = await connectWithTicket(t, user.accessToken);
  });
  afterAll(async () => {
    socket?.ws.terminate();
    await t?.close();
    await base?.close();
    await cluster?.destroy();
  });

  /** The answer, and that it came within a few seconds (never a hang). */
  async function timed<T>(request: () => Promise<T>): Promise<T> {
    const started = Date.now();
    const res = await request();
    expect(Date.now() - started).toBeLessThan(6_000);
    return res;
  }

  it('while PostgreSQL is down: /ready is 503 with database down, requests that need it are 503 problems within seconds', async () => {
    await cluster.stop();
    const ready = await timed(() => t.app.inject('/ready'));
    expect(ready.statusCode).toBe(503);
    expect(ready.json()).toMatchObject({ status: 'unavailable', database: 'down', redis: 'ok' });
    expectProblem(await timed(() => login(t, user)), 503, 'database_unavailable');
    expectProblem(await timed(() => t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(user.accessToken) })), 503, 'database_unavailable');
    // Realtime runs on Redis: the open socket keeps receiving.
    await t.container.events.publish({ type: 'file.created', userId: user.id, data: { during: true } });
    expect(await socket.next((m) => m.data.during === true)).toMatchObject({ type: 'file.created' });
    expect(socket.ws.readyState).toBe(WebSocket.OPEN);
  });

  it('once PostgreSQL is back: ready again and signing in works, without restarting the app', async () => {
    await cluster.start();
    await eventually(async () => expect((await t.app.inject('/ready')).statusCode).toBe(200), 10_000, 200);
    await eventually(async () => expect((await login(t, user)).statusCode).toBe(200), 10_000, 200);
    expect((await t.app.inject({ url: '/api/v1/auth/sessions', headers: bearer(user.accessToken) })).statusCode).toBe(200);
  });
});
