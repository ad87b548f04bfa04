/**
 * The yardstick for password login: a bare Fastify route that only verifies one argon2id hash
 * with the same parameters Tessera uses, so the ratio shows what login costs beyond the hash.
 *
 * With BARE_STATEMENTS=1 the route also does the database work a sign-in must do, through
 * Tessera's own database layer and repositories (src/db, src/repositories): the account read
 * before the hash (`findForSignIn`), and the one write after it (`createAtSignIn`: the sign-in
 * bookkeeping, the session, its refresh token's hash and the `login.succeeded` row). On
 * PostgreSQL (BARE_DATABASE_URL: Tessera's own database, BARE_EMAIL: the bench account) the
 * account is Tessera's; on the embedded store the yardstick has its own PGlite database in
 * BARE_DATA_DIR, with one account holding the hash below. Against it the ratio shows what
 * Tessera costs beyond the hash and its database.
 */
import { randomUUID } from 'node:crypto';
import { hash, verify } from '@node-rs/argon2';
import Fastify from 'fastify';
import type { Kysely } from 'kysely';
import { loadConfig } from '../src/config/index.js';
import { openDatabase, type DatabaseHandle } from '../src/db/database.js';
import { migrateUp } from '../src/db/migrator.js';
import { hashOpaqueToken, newOpaqueToken } from '../src/modules/auth/opaque-tokens.js';
import { SessionsRepository } from '../src/repositories/sessions.repository.js';
import { UsersRepository } from '../src/repositories/users.repository.js';

const password = process.env.BARE_PASSWORD ?? 'Correct-Horse-9!';
const stored = await hash(password, {
  algorithm: 2, // Argon2id
  memoryCost: Number(process.env.ARGON2_MEMORY_KIB ?? 19_456),
  timeCost: Number(process.env.ARGON2_ITERATIONS ?? 2),
  parallelism: Number(process.env.ARGON2_PARALLELISM ?? 1),
});

let database: DatabaseHandle | null = null;
let email = process.env.BARE_EMAIL ?? '';
const url = process.env.BARE_DATABASE_URL;
const config = loadConfig({ DATA_DIR: process.env.BARE_DATA_DIR ?? '', ...(url ? { DATABASE_URL: url } : {}) });
if (process.env.BARE_STATEMENTS) {
  database = await openDatabase(config);
  if (!url) {
    await migrateUp(database.db as unknown as Kysely<unknown>);
    email = 'yardstick@example.com';
    await new UsersRepository(database.db).insert({ email, displayName: null, passwordHash: stored });
  }
}
const users = database && new UsersRepository(database.db);
const sessions = database && new SessionsRepository(database.db);

const app = Fastify({ logger: false });
app.post('/bare', async (request, reply) => {
  const body = request.body as { password?: string };
  if (!users || !sessions) {
    const ok = await verify(stored, body.password ?? '');
    return reply.code(ok ? 200 : 401).send({ ok });
  }
  const user = await users.findForSignIn(email);
  const ok = user !== undefined && (await verify(user.password_hash, body.password ?? ''));
  if (!ok || !user) return reply.code(401).send({ ok });
  const ip = request.ip;
  const userAgent = request.headers['user-agent']?.slice(0, 512) ?? null;
  const id = randomUUID();
  await sessions.createAtSignIn(
    {
      id,
      userId: user.id,
      clientId: null,
      scope: 'user',
      ip,
      userAgent,
      // As sessions.service.ts makes them: a new opaque token, stored as its hash.
      refreshTokenHash: hashOpaqueToken(newOpaqueToken()),
      expiresAt: new Date(Date.now() + config.auth.refreshTokenDays * 86_400_000),
    },
    { at: new Date(), rehash: null },
    { event: 'login.succeeded', userId: user.id, clientId: null, details: { session_id: id }, ip, userAgent },
  );
  return reply.send({ ok });
});
await app.listen({ host: '127.0.0.1', port: Number(process.env.BARE_PORT) });
process.send?.({ ready: true });
process.on('SIGTERM', () =>
  void app.close().then(async () => {
    await database?.close();
    process.exit(0);
  }),
);
