import { sql, type Kysely } from 'kysely';

/** The bookkeeping tables of the migrator: rebuilt by migrating, never copied. */
const MIGRATOR_TABLES = new Set(['tessera_migrations', 'tessera_migrations_lock']);

export interface TableInfo {
  name: string;
  /** tables this one references by foreign key */
  references: string[];
}

/** Every table of the public schema, parents before children (foreign-key order). */
export async function tablesInDependencyOrder(db: Kysely<unknown>): Promise<string[]> {
  const tables = await sql<{ name: string }>`
    select table_name as name from information_schema.tables
    where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`.execute(db);
  const edges = await sql<{ child: string; parent: string }>`
    select distinct cl.relname as child, pcl.relname as parent
    from pg_constraint c
    join pg_class cl on cl.oid = c.conrelid
    join pg_class pcl on pcl.oid = c.confrelid
    join pg_namespace n on n.oid = cl.relnamespace
    where c.contype = 'f' and n.nspname = 'public'`.execute(db);
  const names = tables.rows.map((r) => r.name).filter((n) => !MIGRATOR_TABLES.has(n));
  const parents = new Map<string, Set<string>>(names.map((n) => [n, new Set<string>()]));
  for (const e of edges.rows) if (e.child !== e.parent) parents.get(e.child)?.add(e.parent);
  const ordered: string[] = [];
  const done = new Set<string>();
  const visit = (name: string, path: Set<string>) => {
    if (done.has(name)) return;
    if (path.has(name)) throw new Error(`foreign-key cycle through ${name}`);
    path.add(name);
    for (const p of parents.get(name) ?? []) visit(p, path);
    path.delete(name);
    done.add(name);
    ordered.push(name);
  };
  for (const n of names) visit(n, new Set());
  return ordered;
}

/** Columns filled from a sequence (serial/identity): their sequences are moved past the restored rows. */
export async function sequenceColumns(db: Kysely<unknown>): Promise<{ table: string; column: string }[]> {
  const r = await sql<{ table: string; column: string }>`
    select table_name as table, column_name as column from information_schema.columns
    where table_schema = 'public' and (column_default like 'nextval(%' or is_identity = 'YES')`.execute(db);
  return r.rows.filter((c) => !MIGRATOR_TABLES.has(c.table));
}

export function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}
