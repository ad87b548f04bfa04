import { sql, type Kysely } from 'kysely';

/**
 * User files (seed 002, Declutter Cloud) and the per-user storage quota.
 *
 * `files` rows point at objects `files/<user_id>/<id>`; the object is written before its row
 * and deleted after it. Timestamps keep milliseconds only, so the keyset cursors (which carry
 * a JavaScript Date) compare exactly with what is stored.
 *
 * `storage_usage` holds, per user, the bytes stored (`used_bytes`) and the bytes held by
 * uploads in progress (`reserved_bytes`); a reservation is one conditional UPDATE
 * (`… where used_bytes + reserved_bytes + n <= quota`), which PostgreSQL and PGlite both run
 * atomically. `storage_reservations` says which upload holds which bytes, so an upload that
 * died with its process gives its bytes back once the reservation goes stale.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('files')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('name', 'text', (c) => c.notNull().check(sql`octet_length(name) between 1 and 255`))
    .addColumn('size', 'bigint', (c) => c.notNull().check(sql`size >= 0`))
    .addColumn('content_type', 'text', (c) => c.notNull())
    .addColumn('sha256', 'text', (c) => c.notNull().check(sql`sha256 ~ '^[0-9a-f]{64}$'`))
    .addColumn('object_key', 'text', (c) => c.notNull())
    .addColumn('created_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', sql`timestamptz(3)`, (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // The three list orders (GET /files?sort=created_at|size|name), each with id as the tie-breaker.
  await db.schema.createIndex('files_user_created').on('files').columns(['user_id', 'created_at', 'id']).execute();
  await db.schema.createIndex('files_user_size').on('files').columns(['user_id', 'size', 'id']).execute();
  // "C": byte order, the same on every server, which the keyset cursor over (name, id) relies on.
  await sql`create index files_user_name on files (user_id, (lower(name) collate "C"), id)`.execute(db);
  // The duplicates report groups a user's files by content.
  await db.schema.createIndex('files_user_sha256').on('files').columns(['user_id', 'sha256']).execute();
  // `tessera storage cleanup` walks keys in the object store's (byte) order.
  await sql`create unique index files_object_key on files ((object_key collate "C"))`.execute(db);

  await db.schema
    .createTable('storage_usage')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('used_bytes', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`used_bytes >= 0`))
    .addColumn('reserved_bytes', 'bigint', (c) => c.notNull().defaultTo(0).check(sql`reserved_bytes >= 0`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();

  await db.schema
    .createTable('storage_reservations')
    .addColumn('id', 'uuid', (c) => c.primaryKey())
    .addColumn('user_id', 'uuid', (c) => c.notNull().references('users.id').onDelete('cascade'))
    .addColumn('bytes', 'bigint', (c) => c.notNull().check(sql`bytes >= 0`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('storage_reservations_user').on('storage_reservations').columns(['user_id', 'updated_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('storage_reservations').ifExists().execute();
  await db.schema.dropTable('storage_usage').ifExists().execute();
  await db.schema.dropTable('files').ifExists().execute();
}
