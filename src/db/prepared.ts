import { createHash } from 'node:crypto';
import { sql, type RawBuilder } from 'kysely';

/**
 * Named (prepared) statements for the few hot statements whose parse and plan cost more than
 * their execution (a refresh rotation's five-part CTE: PostgreSQL spends ~0.7 ms of CPU on it
 * unprepared, ~0.3 ms prepared). A statement opts in by ending with this marker:
 *
 *   sql`select … ${prepared('rotate_refresh_token')}`   or   query.modifyEnd(prepared('…'))
 *
 * On PostgreSQL each pg connection parses it once, then only binds and executes it; the
 * embedded database does the same on its single session (pglite-dialect.ts). Only for
 * statements whose text never varies and whose result columns are listed (never `*`: a column
 * added by a later migration would make a prepared `select *` fail with "cached plan must not
 * change result type"). Behind a transaction-pooling PgBouncer older than 1.21, named
 * statements need max_prepared_statements (or session pooling).
 */
export function prepared(name: string): RawBuilder<unknown> {
  if (!/^[a-z0-9_]+$/.test(name)) throw new Error(`prepared statement name ${JSON.stringify(name)}: lower-case letters, digits and _ only`);
  return sql.raw(` /*prepared:${name}*/`);
}

const MARKER = /\/\*prepared:([a-z0-9_]+)\*\/$/;
const names = new Map<string, string | null>();

/**
 * The statement name for a marked text, else null. Suffixed with a digest of the text, so two
 * texts under one name (a changed statement, in a test) never collide on a connection.
 */
export function preparedName(text: string): string | null {
  if (!text.endsWith('*/')) return null;
  let name = names.get(text);
  if (name !== undefined) return name;
  const m = MARKER.exec(text);
  name = m ? `${m[1]}_${createHash('sha256').update(text).digest('hex').slice(0, 12)}` : null;
  // Unmarked texts are not remembered (they are unbounded); marked ones are a fixed handful.
  if (name) names.set(text, name);
  return name;
}
