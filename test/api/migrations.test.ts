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

  it('0006 rewrites display names stored before registration neutralised them, in batches, and search then finds them', async () => {
    const t = await createTestApp();
    try {
      const db = t.container.database.db as unknown as Kysely<unknown>;
      expect(await migrateDown(db, 1)).toEqual(['0006_display_names_neutralised']);
      // As the old registration stored them: tags kept, control characters gone. 501 rows: two batches.
      await sql`insert into users (email, password_hash, display_name)
        select 'm' || i || '@example.com', 'x', case when i % 250 = 0 then '<script>x()</script><b>Ann</b> Mig' || i else 'Plain ' || i end
        from generate_series(1, 501) as i`.execute(db);
      await sql`insert into users (email, password_hash, display_name) values ('tags-only@example.com', 'x', '<i></i>')`.execute(db);
      expect(await migrateUp(db)).toEqual(['0006_display_names_neutralised']);

      const names = await sql<{ email: string; display_name: string | null }>`
        select email, display_name from users where email in ('m250@example.com', 'm500@example.com', 'm1@example.com', 'tags-only@example.com') order by email`.execute(db);
      expect(names.rows).toEqual([
        { email: 'm1@example.com', display_name: 'Plain 1' },
        { email: 'm250@example.com', display_name: 'Ann Mig250' },
        { email: 'm500@example.com', display_name: 'Ann Mig500' },
        { email: 'tags-only@example.com', display_name: null },
      ]);
      const raw = await sql<{ n: number }>`select count(*)::int as n from users where display_name like '%<%'`.execute(db);
      expect(raw.rows[0]?.n).toBe(0);
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
