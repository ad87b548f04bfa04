import { Kysely, PostgresDialect } from 'kysely';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { TestProject } from 'vitest/node';
import { migrateUp } from '../../src/db/migrator.js';
import { databaseUrl, TEST_DATABASE_URL, TEST_REDIS_URL } from './services.js';

/**
 * Real PostgreSQL and Redis must answer: this suite fails (never skips) when they don't.
 * One migrated template database; each test app gets `CREATE DATABASE … TEMPLATE` of it.
 */
export default async function setup(project: TestProject) {
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 5000 });
  try {
    await admin.connect();
  } catch (err) {
    throw new Error(`PostgreSQL is not reachable at ${TEST_DATABASE_URL}: ${(err as Error).message}. Start it (see README, Tests).`);
  }
  const redis = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    await admin.end();
    throw new Error(`Redis is not reachable at ${TEST_REDIS_URL}: ${(err as Error).message}. Start it (see README, Tests).`);
  } finally {
    redis.disconnect();
  }

  const template = `tessera_tpl_${process.pid}`;
  // Leftovers of runs that were killed before their teardown.
  const stale = await admin.query<{ datname: string }>("select datname from pg_database where datname like 'tessera_t%'");
  for (const { datname } of stale.rows) {
    const pid = Number(/_(\d+)(?:_|$)/.exec(datname)?.[1]);
    if (!pid || !isAlive(pid)) await admin.query(`drop database if exists "${datname}" with (force)`);
  }
  await admin.query(`create database "${template}"`);
  const pool = new pg.Pool({ connectionString: databaseUrl(template), max: 2 });
  const db = new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) });
  await migrateUp(db);
  await db.destroy();
  project.provide('postgresTemplate', template);
  project.provide('pgliteTemplate', '');

  return async () => {
    const dbs = await admin.query<{ datname: string }>(
      `select datname from pg_database where datname = $1 or datname like $2`,
      [template, `tessera_test_${process.pid}_%`],
    );
    for (const { datname } of dbs.rows) await admin.query(`drop database if exists "${datname}" with (force)`);
    await admin.end();
  };
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
