import { sql, type Kysely } from 'kysely';

// Instance-wide settings (e.g. the id of this installation). Later migrations add the domain tables.
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('tessera_meta')
    .addColumn('key', 'text', (c) => c.primaryKey())
    .addColumn('value', 'text', (c) => c.notNull())
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`insert into tessera_meta (key, value) values ('installation_id', gen_random_uuid()::text)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('tessera_meta').execute();
}
