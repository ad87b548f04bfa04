import { sql, type Kysely } from 'kysely';
import type { Database } from '../db/types.js';

/** An object key some row points at. */
export interface ObjectReference {
  key: string;
  kind: 'file' | 'avatar';
  userId: string;
  /** the file's id (kind `file`) */
  fileId: string | null;
}

/** The object key prefixes rows point into, each with the columns that hold its keys. */
export const REFERENCED_PREFIXES = ['avatars/', 'files/'] as const;
export type ReferencedPrefix = (typeof REFERENCED_PREFIXES)[number];

/**
 * Every object key the database refers to, for `tessera storage cleanup`: user files
 * (`files.object_key`, under `files/`) and avatars (`users.avatar_key` and
 * `users.avatar_thumbnail_key`, under `avatars/`). Keys come in byte order (collation "C"),
 * the order object stores list in, so the two lists can be walked side by side.
 */
export class ObjectReferencesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async page(prefix: ReferencedPrefix, afterKey: string, limit: number): Promise<ObjectReference[]> {
    const { rows } = await sql<{ key: string; kind: 'file' | 'avatar'; user_id: string; file_id: string | null }>`
      select key, kind, user_id, file_id from (${this.source(prefix)}) refs
      where (key collate "C") > (${afterKey}::text collate "C")
      order by (key collate "C") limit ${limit}`.execute(this.db);
    return rows.map((r) => ({ key: r.key, kind: r.kind, userId: r.user_id, fileId: r.file_id }));
  }

  /** Which of `keys` some row still points at (asked again just before anything is deleted). */
  async referenced(keys: readonly string[]): Promise<Set<string>> {
    if (keys.length === 0) return new Set();
    const list = sql.join(keys.map((k) => sql`${k}::text`));
    const { rows } = await sql<{ key: string }>`
      select object_key as key from files where object_key in (${list})
      union select avatar_key from users where avatar_key in (${list})
      union select avatar_thumbnail_key from users where avatar_thumbnail_key in (${list})`.execute(this.db);
    return new Set(rows.map((r) => r.key));
  }

  async count(prefix: ReferencedPrefix): Promise<number> {
    const { rows } = await sql<{ n: string | number }>`select count(*) as n from (${this.source(prefix)}) refs`.execute(this.db);
    return Number(rows[0]?.n ?? 0);
  }

  private source(prefix: ReferencedPrefix) {
    if (prefix === 'files/') {
      return sql`select object_key as key, 'file' as kind, user_id, id as file_id from files`;
    }
    return sql`
      select avatar_key as key, 'avatar' as kind, id as user_id, null::uuid as file_id from users where avatar_key is not null
      union all
      select avatar_thumbnail_key, 'avatar', id, null::uuid from users where avatar_thumbnail_key is not null`;
  }
}
