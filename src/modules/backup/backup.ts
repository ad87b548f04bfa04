import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { sql, type Kysely } from 'kysely';
import * as tar from 'tar';
import { BACKUP_FORMAT, type BackupManifest } from './manifest.js';
import type { Progress } from './progress.js';
import { quoteIdent, tablesInDependencyOrder } from './tables.js';

export interface BackupSource {
  db: Kysely<unknown>;
  databaseKind: 'embedded' | 'postgres';
  storageKind: 'local' | 's3' | 'cloudinary';
  /** DATA_DIR/uploads when storage is local */
  uploadsDir: string | null;
  tesseraVersion: string;
}

const BATCH = 2_000;

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Every object file under the uploads folder (in-progress temp files, named .*, are skipped). */
export async function listObjectFiles(root: string): Promise<string[]> {
  if (!existsSync(root)) return [];
  const out: string[] = [];
  const walk = async (dir: string) => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name.startsWith('.')) continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else if (entry.isFile()) out.push(path.relative(root, full).split(path.sep).join('/'));
    }
  };
  await walk(root);
  return out.sort();
}

/**
 * One .tar.gz: manifest.json, db/<table>.jsonl (row_to_json of each row, read in one
 * repeatable-read snapshot, so the tables agree with each other) and objects/<key> for local
 * storage. Written beside the target and renamed into place: never a half archive at `out`.
 */
export async function createBackup(source: BackupSource, out: string, progress: Progress): Promise<BackupManifest> {
  const staging = await mkdtemp(path.join(path.dirname(path.resolve(out)), '.tessera-backup-'));
  try {
    await mkdir(path.join(staging, 'db'));
    const migrations = (
      await sql<{ name: string }>`select name from tessera_migrations order by name`.execute(source.db)
    ).rows.map((r) => r.name);
    const schemaVersion = migrations.at(-1);
    if (!schemaVersion) throw new Error('the database has no migrations applied: nothing to back up');

    const tables: BackupManifest['tables'] = [];
    await source.db.transaction().setIsolationLevel('repeatable read').execute(async (trx) => {
      for (const table of await tablesInDependencyOrder(trx)) {
        const file = `db/${table}.jsonl`;
        const stream = createWriteStream(path.join(staging, file));
        const hash = createHash('sha256');
        let rows = 0;
        let bytes = 0;
        const cursor = `backup_${randomBytes(4).toString('hex')}`;
        await sql.raw(`declare ${cursor} no scroll cursor for select row_to_json(t)::text as j from ${quoteIdent(table)} t`).execute(trx);
        for (;;) {
          const batch = await sql<{ j: string }>`${sql.raw(`fetch ${BATCH} from ${cursor}`)}`.execute(trx);
          if (batch.rows.length === 0) break;
          const chunk = batch.rows.map((r) => r.j).join('\n') + '\n';
          hash.update(chunk);
          bytes += Buffer.byteLength(chunk);
          rows += batch.rows.length;
          if (!stream.write(chunk)) await new Promise<void>((r) => stream.once('drain', () => r()));
        }
        await sql.raw(`close ${cursor}`).execute(trx);
        await new Promise<void>((resolve, reject) => stream.end((err?: Error | null) => (err ? reject(err) : resolve())));
        tables.push({ name: table, rows, file, sha256: hash.digest('hex'), bytes });
        progress.step(`backup: ${table}: ${rows} rows`);
      }
    });

    const objects: BackupManifest['objects'] = { storage: source.storageKind, files: [] };
    if (source.storageKind === 'local' && source.uploadsDir) {
      const keys = await listObjectFiles(source.uploadsDir);
      let done = 0;
      for (const key of keys) {
        const target = path.join(staging, 'objects', key);
        await mkdir(path.dirname(target), { recursive: true });
        await copyFile(path.join(source.uploadsDir, key), target);
        objects.files.push({ key, bytes: (await stat(target)).size, sha256: await sha256File(target) });
        progress.tick('backup: objects', ++done, keys.length);
      }
    } else {
      progress.step(`backup: objects live in ${source.storageKind}; back them up there (versioning/replication)`);
    }

    const manifest: BackupManifest = {
      format: BACKUP_FORMAT,
      created_at: new Date().toISOString(),
      tessera_version: source.tesseraVersion,
      schema_version: schemaVersion,
      migrations,
      database: { kind: source.databaseKind },
      tables,
      objects,
    };
    await writeFile(path.join(staging, 'manifest.json'), JSON.stringify(manifest, null, 2));
    const entries = ['manifest.json', 'db', ...(objects.files.length ? ['objects'] : [])];
    const tmpOut = `${out}.${process.pid}.partial`;
    await tar.create({ gzip: true, file: tmpOut, cwd: staging, portable: true }, entries);
    await rename(tmpOut, out);
    return manifest;
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}
