import { sql, type Kysely } from 'kysely';

/**
 * Service tokens (client_credentials) have no session row, so revoking one of them (RFC 7009)
 * lived only in the key-value store: an embedded restart or a Redis that came back empty
 * forgot it, and the token worked again until it expired. The revocation is now also kept
 * here, and replayed with the others. `token_id` is the token's `sid` (its own id: a service
 * token is its own session). Rows are useless once `expires_at` has passed; retention deletes them.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createTable('service_token_revocations')
    .addColumn('token_id', 'text', (c) => c.primaryKey())
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .execute();
  await db.schema.createIndex('service_token_revocations_revoked_at').on('service_token_revocations').column('revoked_at').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('service_token_revocations').ifExists().execute();
}
