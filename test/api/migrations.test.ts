import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import { describe, expect, it } from 'vitest';
import { migrateDown, migrateUp, migrationStatus } from '../../src/db/migrator.js';
import { MIGRATIONS } from '../../src/db/migrations/index.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp } from '../helpers/test-app.js';

/** Tables, columns (with types, defaults, nullability), indexes and constraints of the public schema. */
async function schemaOf(db: Kysely<unknown>): Promise<string[]> {
  const columns = await sql<{ d: string }>`
    select table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || coalesce(column_default, '') as d
    from information_schema.columns where table_schema = 'public' and table_name not like 'tessera_migrations%'`.execute(db);
  const indexes = await sql<{ d: string }>`
    select indexdef as d from pg_indexes where schemaname = 'public' and tablename not like 'tessera_migrations%'`.execute(db);
  const constraints = await sql<{ d: string }>`
    select cl.relname || ' ' || pg_get_constraintdef(c.oid) as d from pg_constraint c
    join pg_class cl on cl.oid = c.conrelid join pg_namespace n on n.oid = cl.relnamespace
    where n.nspname = 'public' and cl.relname not like 'tessera_migrations%'`.execute(db);
  return [...columns.rows, ...indexes.rows, ...constraints.rows].map((r) => r.d).sort();
}

describe(`migrations (${BACKEND})`, () => {
  it('every migration runs up → down → up, and the schema comes back the same', async () => {
    const t = await createTestApp();
    try {
      const db = t.container.database.db as unknown as Kysely<unknown>;
      const all = Object.keys(MIGRATIONS).sort();
      expect((await migrationStatus(db)).every((m) => m.executedAt)).toBe(true);
      const before = await schemaOf(db);
      expect(before.length).toBeGreaterThan(0);

      const reverted = await migrateDown(db, all.length);
      expect(reverted).toEqual([...all].reverse());
      expect(await schemaOf(db)).toEqual([]);

      expect(await migrateUp(db)).toEqual(all);
      expect(await schemaOf(db)).toEqual(before);
      expect(await migrateUp(db)).toEqual([]);
    } finally {
      await t.close();
    }
  });

  it.runIf(BACKEND === 'postgres')('two instances migrating one database together apply each migration once', async () => {
    const t = await createTestApp();
    try {
      const db = t.container.database.db as unknown as Kysely<unknown>;
      const all = Object.keys(MIGRATIONS).sort();
      await migrateDown(db, all.length);
      // Two separate pools, as two instances starting at once would have.
      const pools = [1, 2].map(() => new pg.Pool({ connectionString: t.env.DATABASE_URL, max: 2 }));
      const [db1, db2] = pools.map((pool) => new Kysely<unknown>({ dialect: new PostgresDialect({ pool }) }));
      try {
        const [a, b] = await Promise.all([migrateUp(db1!), migrateUp(db2!)]);
        expect([...a, ...b].sort()).toEqual(all);
        const rows = await sql<{ n: number }>`select count(*)::int as n from tessera_migrations`.execute(db);
        expect(rows.rows[0]?.n).toBe(all.length);
      } finally {
        await db1?.destroy();
        await db2?.destroy();
      }
    } finally {
      await t.close();
    }
  });
});
