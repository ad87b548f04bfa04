import { sql, type Kysely } from 'kysely';
import { neutraliseDisplayName } from '../../modules/profiles/sanitize.js';

const BATCH = 500;

/**
 * Registration used to store a display name with only control characters and bidi overrides
 * removed, so `<b>Ann</b>` was kept as typed. Every answer neutralised it on the way out, but
 * the profile search compares the stored text: `q=<b` found a name shown as "Ann", and `q=Ann`
 * missed it. Each stored name is rewritten once as the profile rules store it (null when
 * nothing visible is left), in batches by id. The old text is not kept, so `down` does nothing.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  let after: string | null = null;
  for (;;) {
    const { rows }: { rows: { id: string; display_name: string }[] } = await sql<{ id: string; display_name: string }>`
      select id, display_name from users
      where display_name is not null ${after === null ? sql`` : sql`and id > ${after}`}
      order by id limit ${BATCH}`.execute(db);
    for (const row of rows) {
      const neutral = neutraliseDisplayName(row.display_name);
      if (neutral !== row.display_name) await sql`update users set display_name = ${neutral} where id = ${row.id}`.execute(db);
    }
    if (rows.length < BATCH) return;
    after = rows[rows.length - 1]!.id;
  }
}

export async function down(): Promise<void> {}
