import { createReadStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { sql, type Kysely, type Migrator } from 'kysely';
import * as tar from 'tar';
import { createMigrator } from '../../db/migrator.js';
import { MIGRATIONS } from '../../db/migrations/index.js';
import { listObjectFiles, sha256File } from './backup.js';
import { BACKUP_FORMAT, type BackupManifest } from './manifest.js';
import type { Progress } from './progress.js';
import { quoteIdent, sequenceColumns, tablesInDependencyOrder } from './tables.js';

/** A refusal: the archive or the target is not fit; nothing was changed. */
export class RestoreRefused extends Error {}

export interface RestoreTarget {
  db: Kysely<unknown>;
  /** DATA_DIR/uploads when storage is local, else null */
  uploadsDir: string | null;
}

// Rows an instance writes by itself on its first start (the installation id from the first
// migration, the generated signing key): a database holding only these counts as empty, and
// they are replaced by the archive's (whose keys signed the tokens in circulation).
const WRITTEN_ON_FIRST_START = new Set(['tessera_meta', 'signing_keys']);
const INSERT_BATCH = 500;

async function extract(file: string, into: string): Promise<BackupManifest> {
  if (!existsSync(file)) throw new RestoreRefused(`${file}: no such file`);
  try {
    await tar.extract({ file, cwd: into, strict: true, preservePaths: false });
  } catch (err) {
    throw new RestoreRefused(`${file} is not a readable backup archive (truncated or corrupt): ${(err as Error).message}`);
  }
  let manifest: BackupManifest;
  try {
    manifest = JSON.parse(await readFile(path.join(into, 'manifest.json'), 'utf8')) as BackupManifest;
  } catch {
    throw new RestoreRefused(`${file} has no readable manifest.json: not a Tessera backup, or corrupt`);
  }
  if (manifest.format !== BACKUP_FORMAT) throw new RestoreRefused(`unknown backup format "${String(manifest.format)}"; expected ${BACKUP_FORMAT}`);
  return manifest;
}

async function verify(dir: string, manifest: BackupManifest, progress: Progress): Promise<void> {
  for (const t of manifest.tables) {
    const p = path.join(dir, t.file);
    if (!existsSync(p) || (await sha256File(p)) !== t.sha256) throw new RestoreRefused(`checksum mismatch in ${t.file}: the archive is corrupt`);
  }
  let done = 0;
  for (const o of manifest.objects.files) {
    const p = path.join(dir, 'objects', o.key);
    if (!existsSync(p) || (await sha256File(p)) !== o.sha256) throw new RestoreRefused(`checksum mismatch in objects/${o.key}: the archive is corrupt`);
    progress.tick('restore: verifying objects', ++done, manifest.objects.files.length);
  }
  const known = Object.keys(MIGRATIONS).sort();
  const unknown = manifest.migrations.filter((m) => !known.includes(m));
  if (unknown.length) {
    throw new RestoreRefused(`the archive comes from a newer schema (${unknown.join(', ')} unknown here); upgrade Tessera first, then restore`);
  }
}

async function assertEmpty(db: Kysely<unknown>, uploadsDir: string | null): Promise<void> {
  const hasSchema = await sql<{ n: number }>`select count(*)::int as n from information_schema.tables where table_schema = 'public' and table_name = 'tessera_migrations'`.execute(db);
  if ((hasSchema.rows[0]?.n ?? 0) > 0) {
    for (const table of await tablesInDependencyOrder(db)) {
      if (WRITTEN_ON_FIRST_START.has(table)) continue;
      const r = await sql<{ present: boolean }>`select exists (select 1 from ${sql.raw(quoteIdent(table))}) as present`.execute(db);
      if (r.rows[0]?.present) throw new RestoreRefused(`the target database is not empty (table ${table} has rows); restore only into an empty database`);
    }
  }
  if (uploadsDir && (await listObjectFiles(uploadsDir)).length > 0) {
    throw new RestoreRefused(`the target upload folder ${uploadsDir} is not empty; restore only into an empty data directory`);
  }
}

async function migrateTo(db: Kysely<unknown>, target: string | 'latest'): Promise<void> {
  const migrator: Migrator = createMigrator(db);
  const result = target === 'latest' ? await migrator.migrateToLatest() : await migrator.migrateTo(target);
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
}

async function importTable(trx: Kysely<unknown>, dir: string, table: BackupManifest['tables'][number]): Promise<void> {
  const lines = createInterface({ input: createReadStream(path.join(dir, table.file)), crlfDelay: Infinity });
  let batch: string[] = [];
  const flush = async () => {
    if (batch.length === 0) return;
    const json = `[${batch.join(',')}]`;
    // json_populate_recordset is row_to_json's inverse: every column type comes back exact.
    await sql`insert into ${sql.raw(quoteIdent(table.name))} select * from json_populate_recordset(null::${sql.raw(quoteIdent(table.name))}, ${json}::json)`.execute(trx);
    batch = [];
  };
  for await (const line of lines) {
    if (!line) continue;
    batch.push(line);
    if (batch.length >= INSERT_BATCH) await flush();
  }
  await flush();
}

/**
 * Restores an archive into an empty database and data directory: verifies every checksum and
 * the schema first (refusing before anything changes), brings the schema to the archive's
 * version, copies the objects, imports every table in one transaction, then migrates to the
 * latest schema. A failure part-way removes the objects it copied.
 */
export async function restoreBackup(target: RestoreTarget, file: string, progress: Progress): Promise<BackupManifest> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tessera-restore-'));
  const copied: string[] = [];
  try {
    const manifest = await extract(file, dir);
    progress.step(`restore: archive of ${manifest.created_at}, schema ${manifest.schema_version}, ${manifest.tables.reduce((n, t) => n + t.rows, 0)} rows, ${manifest.objects.files.length} objects`);
    await verify(dir, manifest, progress);
    await assertEmpty(target.db, target.uploadsDir);
    if (manifest.objects.files.length && !target.uploadsDir) {
      throw new RestoreRefused('the archive holds local uploads but this instance stores objects elsewhere (STORAGE_PROVIDER); restore with STORAGE_PROVIDER=local, then copy them over');
    }

    await migrateTo(target.db, manifest.schema_version);

    if (target.uploadsDir) {
      let done = 0;
      for (const o of manifest.objects.files) {
        const to = path.join(target.uploadsDir, o.key);
        await mkdir(path.dirname(to), { recursive: true });
        await copyFile(path.join(dir, 'objects', o.key), to);
        copied.push(to);
        progress.tick('restore: objects', ++done, manifest.objects.files.length);
      }
    }

    await target.db.transaction().execute(async (trx) => {
      const present = new Set(await tablesInDependencyOrder(trx));
      for (const t of WRITTEN_ON_FIRST_START) if (present.has(t)) await sql`delete from ${sql.raw(quoteIdent(t))}`.execute(trx);
      for (const table of manifest.tables) {
        await importTable(trx, dir, table);
        progress.step(`restore: ${table.name}: ${table.rows} rows`);
      }
      for (const { table, column } of await sequenceColumns(trx)) {
        await sql`select setval(pg_get_serial_sequence(${quoteIdent(table)}, ${column}), coalesce((select max(${sql.raw(quoteIdent(column))}) from ${sql.raw(quoteIdent(table))}), 0) + 1, false)`.execute(trx);
      }
    });
    await migrateTo(target.db, 'latest');
    return manifest;
  } catch (err) {
    for (const f of copied) await rm(f, { force: true });
    throw err;
  } finally {
    // A failed extraction may still be flushing entries: retry, and never mask the real error.
    await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 100 }).catch(() => undefined);
  }
}
