import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, FilesTable } from '../db/types.js';

export interface FileRow {
  id: string;
  userId: string;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  objectKey: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewFile {
  id: string;
  userId: string;
  name: string;
  size: number;
  contentType: string;
  sha256: string;
  objectKey: string;
}

export type FileSort = 'created_at' | 'size' | 'name';
export type SortOrder = 'asc' | 'desc';

/** Where the previous page ended: the last row's sort value (ISO time, size or name) and id. */
export interface FileKeyset {
  value: string | number;
  id: string;
}

export interface DuplicateGroupRow {
  sha256: string;
  copies: number;
  size: number;
  /** bytes freed by deleting every copy but one */
  reclaimableBytes: number;
}

export interface UsageRow {
  usedBytes: number;
  reservedBytes: number;
  count: number;
}

/** bigint columns arrive as numbers from pg and may arrive as bigint or text elsewhere */
const toNumber = (v: number | string | bigint | null | undefined): number => (v === null || v === undefined ? 0 : Number(v));

function toFile(row: Selectable<FilesTable>): FileRow {
  return {
    id: row.id,
    userId: row.user_id,
    name: row.name,
    size: toNumber(row.size),
    contentType: row.content_type,
    sha256: row.sha256,
    objectKey: row.object_key,
    createdAt: new Date(row.created_at),
    updatedAt: new Date(row.updated_at),
  };
}

// The expression of the files_user_name index: a case-insensitive, byte-ordered name.
const SORT_COLUMNS = {
  created_at: sql`created_at`,
  size: sql`size`,
  name: sql`(lower(name) collate "C")`,
} as const;

/**
 * The `files` table and the quota bookkeeping beside it (`storage_usage`, `storage_reservations`).
 * Every change to a user's stored bytes happens in the transaction that changes their files.
 */
export class FilesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async find(userId: string, id: string): Promise<FileRow | null> {
    const row = await this.db.selectFrom('files').selectAll().where('id', '=', id).where('user_id', '=', userId).executeTakeFirst();
    return row ? toFile(row) : null;
  }

  /** One page in a stable order: the sort column, then id as the tie-breaker (keyset pagination). */
  async list(userId: string, options: { sort: FileSort; order: SortOrder; after: FileKeyset | null; limit: number }): Promise<FileRow[]> {
    const column = SORT_COLUMNS[options.sort];
    const direction = options.order === 'asc' ? sql`asc` : sql`desc`;
    let after = sql`true`;
    if (options.after) {
      const { value, id } = options.after;
      const boundary =
        options.sort === 'created_at'
          ? sql`${String(value)}::timestamptz`
          : options.sort === 'size'
            ? sql`${Number(value)}::bigint`
            : sql`(lower(${String(value)}::text) collate "C")`;
      after = options.order === 'asc' ? sql`(${column}, id) > (${boundary}, ${id}::uuid)` : sql`(${column}, id) < (${boundary}, ${id}::uuid)`;
    }
    const { rows } = await sql<Selectable<FilesTable>>`
      select * from files
      where user_id = ${userId} and ${after}
      order by ${column} ${direction}, id ${direction}
      limit ${options.limit}`.execute(this.db);
    return rows.map(toFile);
  }

  async rename(userId: string, id: string, name: string): Promise<FileRow | null> {
    const row = await this.db
      .updateTable('files')
      .set({ name, updated_at: sql<Date>`now()` })
      .where('id', '=', id)
      .where('user_id', '=', userId)
      .returningAll()
      .executeTakeFirst();
    return row ? toFile(row) : null;
  }

  /**
   * Makes an upload a file: its row is inserted and its reservation settled into used bytes, in
   * one transaction. Null when the quota no longer has room: only possible when the reservation
   * went stale (its bytes were given back) and other uploads took them since.
   */
  async commitUpload(file: NewFile, reservationId: string, quotaBytes: number): Promise<FileRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const reservation = await trx.deleteFrom('storage_reservations').where('id', '=', reservationId).returning('bytes').executeTakeFirst();
      const held = toNumber(reservation?.bytes);
      const settled = await sql<{ user_id: string }>`
        update storage_usage
        set used_bytes = used_bytes + ${file.size}, reserved_bytes = greatest(reserved_bytes - ${held}, 0), updated_at = now()
        where user_id = ${file.userId}
          and (${file.size}::bigint <= ${held}::bigint or used_bytes + reserved_bytes - ${held} + ${file.size} <= ${quotaBytes})
        returning user_id`.execute(trx);
      if (settled.rows.length === 0) {
        // Give the bytes back as the reservation did not survive; the caller removes the object.
        if (held > 0) await this.releaseBytes(trx, file.userId, held);
        return null;
      }
      const row = await trx
        .insertInto('files')
        .values({
          id: file.id,
          user_id: file.userId,
          name: file.name,
          size: file.size,
          content_type: file.contentType,
          sha256: file.sha256,
          object_key: file.objectKey,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toFile(row);
    });
  }

  /** Deletes the row and gives its bytes back; the object goes after (the caller's job). */
  async delete(userId: string, id: string): Promise<FileRow | null> {
    return this.db.transaction().execute(async (trx) => {
      const row = await trx.deleteFrom('files').where('id', '=', id).where('user_id', '=', userId).returningAll().executeTakeFirst();
      if (!row) return null;
      await sql`
        update storage_usage set used_bytes = greatest(used_bytes - ${toNumber(row.size)}, 0), updated_at = now()
        where user_id = ${userId}`.execute(trx);
      return toFile(row);
    });
  }

  async usage(userId: string): Promise<UsageRow> {
    const { rows } = await sql<{ used_bytes: string | number | null; reserved_bytes: string | number | null; count: string | number }>`
      select u.used_bytes, u.reserved_bytes, (select count(*) from files where user_id = ${userId}) as count
      from (select ${userId}::uuid as user_id) me
      left join storage_usage u on u.user_id = me.user_id`.execute(this.db);
    const row = rows[0];
    return { usedBytes: toNumber(row?.used_bytes), reservedBytes: toNumber(row?.reserved_bytes), count: toNumber(row?.count) };
  }

  /** Bytes stored by everyone (the tessera_storage_bytes gauge). */
  async totalUsedBytes(): Promise<number> {
    const { rows } = await sql<{ total: string | number | null }>`select coalesce(sum(used_bytes), 0) as total from storage_usage`.execute(this.db);
    return toNumber(rows[0]?.total);
  }

  /**
   * Holds `bytes` more for reservation `reservationId`, if the user's stored and held bytes stay
   * within `quotaBytes`: one conditional UPDATE, which concurrent uploads queue on (the row lock),
   * each re-checking the condition against the others' committed reservations. Reservations
   * untouched since `staleBefore` (their upload died with its process) are given back first.
   */
  async reserve(userId: string, reservationId: string, bytes: number, quotaBytes: number, staleBefore: Date): Promise<boolean> {
    return this.db.transaction().execute(async (trx) => {
      await sql`insert into storage_usage (user_id) values (${userId}) on conflict (user_id) do nothing`.execute(trx);
      await sql`
        with stale as (
          delete from storage_reservations where user_id = ${userId} and updated_at < ${staleBefore} returning bytes
        )
        update storage_usage set reserved_bytes = greatest(reserved_bytes - (select coalesce(sum(bytes), 0) from stale), 0)
        where user_id = ${userId} and exists (select 1 from stale)`.execute(trx);
      const granted = await sql<{ user_id: string }>`
        update storage_usage set reserved_bytes = reserved_bytes + ${bytes}, updated_at = now()
        where user_id = ${userId} and used_bytes + reserved_bytes + ${bytes} <= ${quotaBytes}
        returning user_id`.execute(trx);
      if (granted.rows.length === 0) return false;
      await sql`
        insert into storage_reservations (id, user_id, bytes) values (${reservationId}, ${userId}, ${bytes})
        on conflict (id) do update set bytes = storage_reservations.bytes + excluded.bytes, updated_at = now()`.execute(trx);
      return true;
    });
  }

  /** The id of the user's longest-running upload reservation, if any. */
  async oldestReservation(userId: string): Promise<string | null> {
    const row = await this.db
      .selectFrom('storage_reservations')
      .select('id')
      .where('user_id', '=', userId)
      .orderBy('created_at')
      .orderBy('id')
      .limit(1)
      .executeTakeFirst();
    return row?.id ?? null;
  }

  /** Gives back everything reservation `reservationId` holds; nothing when it is gone. */
  async release(reservationId: string): Promise<void> {
    await this.db.transaction().execute(async (trx) => {
      const gone = await trx.deleteFrom('storage_reservations').where('id', '=', reservationId).returning(['user_id', 'bytes']).executeTakeFirst();
      if (gone) await this.releaseBytes(trx, gone.user_id, toNumber(gone.bytes));
    });
  }

  /** Every user's duplicate groups, most reclaimable first (then by hash, for a stable order). */
  async duplicateGroups(userId: string, after: { reclaimable: number; sha256: string } | null, limit: number): Promise<DuplicateGroupRow[]> {
    const reclaimable = sql`(sum(size) - max(size))`;
    const { rows } = await sql<{ sha256: string; copies: string | number; size: string | number; reclaimable: string | number }>`
      select sha256, count(*) as copies, max(size) as size, ${reclaimable} as reclaimable
      from files
      where user_id = ${userId}
      group by sha256
      having count(*) > 1 ${after ? sql`and (${reclaimable} < ${after.reclaimable} or (${reclaimable} = ${after.reclaimable} and sha256 > ${after.sha256}))` : sql``}
      order by reclaimable desc, sha256 asc
      limit ${limit}`.execute(this.db);
    return rows.map((r) => ({ sha256: r.sha256, copies: toNumber(r.copies), size: toNumber(r.size), reclaimableBytes: toNumber(r.reclaimable) }));
  }

  /** The totals of the duplicates report: how many groups and how many bytes they could free. */
  async duplicateTotals(userId: string): Promise<{ groups: number; reclaimableBytes: number }> {
    const { rows } = await sql<{ groups: string | number; reclaimable: string | number | null }>`
      select count(*) as groups, coalesce(sum(reclaimable), 0) as reclaimable from (
        select sum(size) - max(size) as reclaimable from files where user_id = ${userId} group by sha256 having count(*) > 1
      ) g`.execute(this.db);
    return { groups: toNumber(rows[0]?.groups), reclaimableBytes: toNumber(rows[0]?.reclaimable) };
  }

  /** The user's files with any of these hashes, oldest first within a hash. */
  async withHashes(userId: string, hashes: readonly string[]): Promise<FileRow[]> {
    if (hashes.length === 0) return [];
    const rows = await this.db
      .selectFrom('files')
      .selectAll()
      .where('user_id', '=', userId)
      .where('sha256', 'in', hashes)
      .orderBy('sha256')
      .orderBy('created_at')
      .orderBy('id')
      .execute();
    return rows.map(toFile);
  }

  // --- for `tessera storage cleanup` ---

  /** A row whose object is gone: deleted like any file (its bytes given back). */
  async deleteById(id: string): Promise<FileRow | null> {
    const row = await this.db.selectFrom('files').select('user_id').where('id', '=', id).executeTakeFirst();
    return row ? this.delete(row.user_id, id) : null;
  }

  /** Reservations nobody touched since `staleBefore` (their upload died): given back. */
  async releaseStaleReservations(staleBefore: Date, apply: boolean): Promise<{ count: number; bytes: number }> {
    if (!apply) {
      const { rows } = await sql<{ n: string | number; bytes: string | number | null }>`
        select count(*) as n, coalesce(sum(bytes), 0) as bytes from storage_reservations where updated_at < ${staleBefore}`.execute(this.db);
      return { count: toNumber(rows[0]?.n), bytes: toNumber(rows[0]?.bytes) };
    }
    return this.db.transaction().execute(async (trx) => {
      const { rows } = await sql<{ user_id: string; bytes: string | number }>`
        delete from storage_reservations where updated_at < ${staleBefore} returning user_id, bytes`.execute(trx);
      const perUser = new Map<string, number>();
      for (const r of rows) perUser.set(r.user_id, (perUser.get(r.user_id) ?? 0) + toNumber(r.bytes));
      for (const [userId, bytes] of perUser) await this.releaseBytes(trx, userId, bytes);
      return { count: rows.length, bytes: [...perUser.values()].reduce((a, b) => a + b, 0) };
    });
  }

  /**
   * Users whose counters disagree with their files and live reservations (only a bug or a hand
   * edit can cause it); with `apply`, each is recounted under its row lock, so uploads and
   * deletions of that user wait for the recount instead of racing it.
   */
  async recountUsage(apply: boolean): Promise<{ userId: string; usedBytes: number; actualUsedBytes: number }[]> {
    const { rows } = await sql<{ user_id: string; used_bytes: string | number; actual_used: string | number; reserved_bytes: string | number; actual_reserved: string | number }>`
      select u.user_id, u.used_bytes, u.reserved_bytes,
        (select coalesce(sum(size), 0) from files f where f.user_id = u.user_id) as actual_used,
        (select coalesce(sum(bytes), 0) from storage_reservations r where r.user_id = u.user_id) as actual_reserved
      from storage_usage u`.execute(this.db);
    const drifted = rows.filter((r) => toNumber(r.used_bytes) !== toNumber(r.actual_used) || toNumber(r.reserved_bytes) !== toNumber(r.actual_reserved));
    if (apply) {
      for (const r of drifted) {
        await this.db.transaction().execute(async (trx) => {
          await sql`select 1 from storage_usage where user_id = ${r.user_id} for update`.execute(trx);
          await sql`
            update storage_usage set
              used_bytes = (select coalesce(sum(size), 0) from files f where f.user_id = ${r.user_id}),
              reserved_bytes = (select coalesce(sum(bytes), 0) from storage_reservations s where s.user_id = ${r.user_id}),
              updated_at = now()
            where user_id = ${r.user_id}`.execute(trx);
        });
      }
    }
    return drifted.map((r) => ({ userId: r.user_id, usedBytes: toNumber(r.used_bytes), actualUsedBytes: toNumber(r.actual_used) }));
  }

  private async releaseBytes(trx: Kysely<Database>, userId: string, bytes: number): Promise<void> {
    await sql`
      update storage_usage set reserved_bytes = greatest(reserved_bytes - ${bytes}, 0), updated_at = now()
      where user_id = ${userId}`.execute(trx);
  }
}
