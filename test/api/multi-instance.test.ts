import { randomBytes } from 'node:crypto';
import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateUp } from '../../src/db/migrator.js';
import { MIGRATIONS } from '../../src/db/migrations/index.js';
import { bearer, decodeJwt, login, me, registerUser, signedInUser, signIn, strongPassword, uniqueEmail } from '../helpers/auth.js';
import { connect, connectWithTicket, eventually, refusal, settle, ticketFor, type EventClient } from '../helpers/realtime.js';
import { BACKEND, databaseUrl, TEST_DATABASE_URL } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/**
 * Two instances on the same stores (issue 7 "Stateless instances"): on the postgres project they
 * share a real PostgreSQL database and Redis, so every assertion here crosses a process-like
 * boundary; on the embedded project they share the memory store (the same code paths, one process).
 */
describe(`two instances on the same stores (${BACKEND})`, () => {
  let a: TestApp;
  let b: TestApp;
  const sockets: EventClient[] = [];

  beforeAll(async () => {
    // Rate limits on (counted per address below), generous enough for the suite's own sign-ins.
    const env = { RATE_LIMIT_LOGIN: '40/minute', RATE_LIMIT_REGISTER: '1000/hour', MAX_LOGIN_ATTEMPTS: '5', WS_MAX_CONNECTIONS_PER_USER: '4' };
    a = await createTestApp({ env });
    b = await createTestApp({ sameStoresAs: a });
  });
  afterAll(async () => {
    for (const s of sockets) s.ws.terminate();
    await b?.close();
    await a?.close();
  });

  async function track(p: Promise<EventClient>): Promise<EventClient> {
    const c = await p;
    sockets.push(c);
    return c;
  }

  describe('realtime', () => {
    it('an event raised on A reaches a socket held by B', async () => {
      const u = await signedInUser(a);
      const onB = await track(connectWithTicket(b, u.accessToken));
      await a.container.events.publish({ type: 'file.created', userId: u.id, data: { id: 'from-a' } });
      expect(await onB.next((m) => m.type === 'file.created')).toMatchObject({ data: { id: 'from-a' } });
    });

    it('a profile change made through A reaches the owner and other users on B', async () => {
      const owner = await signedInUser(a);
      const viewer = await signedInUser(b);
      const ownerOnB = await track(connectWithTicket(b, owner.accessToken));
      const viewerOnB = await track(connectWithTicket(b, viewer.accessToken));
      const res = await a.app.inject({ method: 'PATCH', url: '/api/v1/users/me/profile', headers: bearer(owner.accessToken), payload: { display_name: 'Across' } });
      expect(res.statusCode).toBe(200);
      expect((await ownerOnB.next((m) => m.type === 'profile.updated')).data).toMatchObject({ display_name: 'Across', email: owner.email });
      const seen = await viewerOnB.next((m) => m.type === 'profile.updated');
      expect(seen.data).toMatchObject({ id: owner.id, display_name: 'Across' });
      expect(seen.data).not.toHaveProperty('email');
    });

    it('a ticket from A is accepted by B exactly once (and then by neither)', async () => {
      const u = await signedInUser(a);
      const ticket = await ticketFor(a, u.accessToken);
      await track(connect(b, `?ticket=${ticket}`));
      expect((await refusal(b, `?ticket=${ticket}`)).status).toBe(401);
      expect((await refusal(a, `?ticket=${ticket}`)).status).toBe(401);
    });

    it('the same ticket raced at A and B at once is accepted by exactly one', async () => {
      const u = await signedInUser(a);
      const ticket = await ticketFor(a, u.accessToken);
      const outcomes = await Promise.allSettled([connect(a, `?ticket=${ticket}`), connect(b, `?ticket=${ticket}`)]);
      for (const o of outcomes) if (o.status === 'fulfilled') sockets.push(o.value);
      expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
    });

    it('a session revoked on A closes its socket on B within a second (4001, after session.revoked)', async () => {
      const u = await signedInUser(a);
      const onB = await track(connectWithTicket(b, u.accessToken));
      const started = Date.now();
      expect((await a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(u.accessToken) })).statusCode).toBe(204);
      expect((await onB.closed).code).toBe(4001);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(onB.messages.at(-1)).toMatchObject({ type: 'session.revoked', data: { session_id: u.sessionId } });
    });

    it('the per-user connection cap counts sockets on both instances', async () => {
      const u = await signedInUser(a);
      await track(connectWithTicket(a, u.accessToken));
      await track(connectWithTicket(b, u.accessToken));
      await track(connectWithTicket(a, u.accessToken));
      const fourth = await track(connectWithTicket(b, u.accessToken));
      expect((await refusal(a, `?ticket=${await ticketFor(a, u.accessToken)}`)).status).toBe(429);
      expect((await refusal(b, `?ticket=${await ticketFor(b, u.accessToken)}`)).status).toBe(429);
      fourth.close();
      await fourth.closed;
      await eventually(async () => {
        await track(connectWithTicket(a, u.accessToken));
      });
    });
  });

  describe('auth', () => {
    it('revocation is immediate on both: a token signed out on A is refused by B on the next request', async () => {
      const u = await signedInUser(a);
      expect((await me(b, u.accessToken)).statusCode).toBe(200);
      expect((await a.app.inject({ method: 'POST', url: '/api/v1/auth/logout', headers: bearer(u.accessToken) })).statusCode).toBe(204);
      expect((await me(b, u.accessToken)).statusCode).toBe(401);
    });

    it('rate limits are counted once across both instances', async () => {
      const remoteAddress = `10.77.${randomBytes(1)[0]}.${randomBytes(1)[0]}`;
      const attempt = (t: TestApp) =>
        t.app.inject({ method: 'POST', url: '/api/v1/auth/login', remoteAddress, payload: { email: uniqueEmail('nobody'), password: strongPassword() } });
      const statuses: number[] = [];
      for (let i = 0; i < 40; i++) statuses.push((await attempt(i % 2 ? b : a)).statusCode);
      expect(statuses.every((s) => s === 401)).toBe(true);
      const over = await attempt(a);
      expect(over.statusCode).toBe(429);
      expect((await attempt(b)).statusCode).toBe(429);
      expect(Number(over.headers['retry-after'])).toBeGreaterThan(0);
    });

    it('lockout is shared: failures spread over A and B lock the account on both', async () => {
      const user = await registerUser(a);
      const wrong = { email: user.email, password: strongPassword() };
      for (let i = 0; i < 5; i++) expect((await login(i % 2 ? b : a, wrong)).statusCode).toBe(401);
      expect((await login(a, user)).statusCode).toBe(401);
      expect((await login(b, user)).statusCode).toBe(401);
      const row = await a.container.database.db.selectFrom('users').select('locked_until').where('id', '=', user.id).executeTakeFirstOrThrow();
      expect(row.locked_until!.getTime()).toBeGreaterThan(Date.now());
    });

    it('a signing key rotated on A verifies on B, and tokens signed before still verify on both', async () => {
      const before = await signedInUser(b);
      const oldKid = JSON.parse(Buffer.from(before.accessToken.split('.')[0]!, 'base64url').toString()).kid as string;
      const newKid = await a.container.auth.rotateKeys();
      expect(newKid).not.toBe(oldKid);
      const after = await signIn(a, before);
      expect(JSON.parse(Buffer.from(after.accessToken.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
      await eventually(async () => expect((await me(b, after.accessToken)).statusCode).toBe(200));
      // B signs with the new key too once it has heard of it.
      await eventually(async () => {
        const fromB = await signIn(b, before);
        expect(JSON.parse(Buffer.from(fromB.accessToken.split('.')[0]!, 'base64url').toString()).kid).toBe(newKid);
      });
      expect((await me(a, before.accessToken)).statusCode).toBe(200);
      expect((await me(b, before.accessToken)).statusCode).toBe(200);
      expect(decodeJwt(after.accessToken).sub).toBe(before.id);
    });
  });

  describe('profiles', () => {
    it('the profile cache is invalidated on both: a change made on A is what B serves next, to the owner and to others', async () => {
      const owner = await signedInUser(a);
      const viewer = await signedInUser(b);
      // Warm both instances' view of the profile (the cache is the shared store).
      expect((await b.app.inject({ url: `/api/v1/users/${owner.id}/profile`, headers: bearer(viewer.accessToken) })).json()).toMatchObject({ id: owner.id });
      expect((await a.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(owner.accessToken) })).statusCode).toBe(200);
      const patch = await a.app.inject({ method: 'PATCH', url: '/api/v1/users/me/profile', headers: bearer(owner.accessToken), payload: { display_name: 'Fresh Name' } });
      expect(patch.statusCode).toBe(200);
      expect((await b.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(owner.accessToken) })).json()).toMatchObject({ display_name: 'Fresh Name' });
      expect((await b.app.inject({ url: `/api/v1/users/${owner.id}/profile`, headers: bearer(viewer.accessToken) })).json()).toMatchObject({ display_name: 'Fresh Name' });
      // Privacy tightened on B is in force on A at once.
      const priv = await b.app.inject({ method: 'PATCH', url: '/api/v1/users/me/preferences', headers: bearer(owner.accessToken), payload: { privacy: { profile_visibility: 'private' } } });
      expect(priv.statusCode).toBe(200);
      expect((await a.app.inject({ url: `/api/v1/users/${owner.id}/profile`, headers: bearer(viewer.accessToken) })).statusCode).toBe(404);
      await settle(50);
    });
  });

  describe.runIf(BACKEND === 'postgres')('migrations', () => {
    it('two instances migrating a fresh database at the same moment apply each migration exactly once', async () => {
      const name = `tessera_test_${process.pid}_mig_${randomBytes(4).toString('hex')}`;
      const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await admin.connect();
      await admin.query(`create database "${name}"`);
      const dbs = [0, 1].map(() => {
        const pool = new pg.Pool({ connectionString: databaseUrl(name), max: 2 });
        pool.on('error', () => undefined); // the forced drop below may end idle connections first
        return new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
      });
      try {
        const [first, second] = await Promise.all(dbs.map((db) => migrateUp(db)));
        const all = Object.keys(MIGRATIONS).sort();
        // Between them, every migration once: one instance applies them, the other finds nothing to do
        // (or they split them, never overlapping).
        expect([...first!, ...second!].sort()).toEqual(all);
        const rows = await sql<{ name: string; n: string }>`select name, count(*) as n from tessera_migrations group by name order by name`.execute(dbs[0]!);
        expect(rows.rows.map((r) => [r.name, Number(r.n)])).toEqual(all.map((m) => [m, 1]));
      } finally {
        await Promise.all(dbs.map((db) => db.destroy()));
        await admin.query(`drop database if exists "${name}" with (force)`);
        await admin.end();
      }
    });
  });
});
