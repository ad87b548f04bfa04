import { sql, type Kysely } from 'kysely';

/**
 * Profiles (seed 000): bio and avatar object keys on `users` (display_name is already there),
 * and `user_preferences` — theme, language, notifications and privacy as JSONB.
 *
 * Avatars are stored as object keys, not URLs: the URL depends on the storage settings
 * (AWS_S3_CUSTOM_DOMAIN, PUBLIC_URL) and is made when a profile is read.
 * The column defaults are the seed's; the service writes the DEFAULT_* settings explicitly
 * and treats a user without a row as having those settings.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .alterTable('users')
    .addColumn('bio', 'text')
    .addColumn('avatar_key', 'text')
    .addColumn('avatar_thumbnail_key', 'text')
    .execute();

  // Seed 000's idx_users_display_name, made for what it serves: case-insensitive prefix search
  // (`lower(display_name) like 'ab%'`) in a stable order. The "C" collation lets PostgreSQL use
  // the index for LIKE prefixes and gives the byte order the keyset cursor (name, id) relies on.
  await sql`create index users_display_name_prefix on users ((lower(display_name) collate "C"), id) where display_name is not null`.execute(db);

  await db.schema
    .createTable('user_preferences')
    .addColumn('user_id', 'uuid', (c) => c.primaryKey().references('users.id').onDelete('cascade'))
    .addColumn('theme', 'text', (c) => c.notNull().defaultTo('light').check(sql`theme in ('light', 'dark', 'system')`))
    // BCP 47 tags: "en", "pt-BR", "zh-Hant-TW", "sr-Latn-RS"…; validated by the service.
    .addColumn('language', 'text', (c) => c.notNull().defaultTo('en').check(sql`char_length(language) between 2 and 35`))
    .addColumn('notifications', 'jsonb', (c) =>
      c.notNull().defaultTo(sql`'{"email": true, "push": false, "task_reminders": true, "task_assignments": true}'::jsonb`),
    )
    .addColumn('privacy', 'jsonb', (c) =>
      c
        .notNull()
        .defaultTo(sql`'{"profile_visibility": "public", "show_email": false, "show_activity": true}'::jsonb`)
        .check(sql`privacy->>'profile_visibility' in ('public', 'users', 'private')`),
    )
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  // Seed 000's idx_user_preferences_privacy (containment queries: privacy @> '{"profile_visibility":"public"}').
  // Its idx_user_preferences_user_id is the primary key here.
  await sql`create index user_preferences_privacy on user_preferences using gin (privacy jsonb_path_ops)`.execute(db);
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropTable('user_preferences').ifExists().execute();
  await sql`drop index if exists users_display_name_prefix`.execute(db);
  await db.schema.alterTable('users').dropColumn('avatar_thumbnail_key').dropColumn('avatar_key').dropColumn('bio').execute();
}
