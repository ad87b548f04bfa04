import path from 'node:path';
import type { Kysely } from 'kysely';
import { createBackup } from '../modules/backup/backup.js';
import { createProgress } from '../modules/backup/progress.js';
import { restoreBackup, RestoreRefused } from '../modules/backup/restore.js';
import { CommandError, parseCommandArgs, readConfigOrExit, UsageError, withContainer } from './context.js';

const BACKUP_USAGE = 'usage: tessera backup [--out FILE]';
const RESTORE_USAGE = 'usage: tessera restore FILE';

function uploadsDir(dataDir: string, storageKind: string): string | null {
  return storageKind === 'local' ? path.join(dataDir, 'uploads') : null;
}

/** `tessera backup [--out FILE]`: database, local uploads and signing keys in one archive. */
export async function backupCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs(args, { out: { type: 'string', short: 'o' } }, BACKUP_USAGE);
  if (positionals.length) throw new UsageError(BACKUP_USAGE);
  const out = path.resolve(values.out ?? `tessera-backup-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`);
  const config = readConfigOrExit(process.env);
  await withContainer(config, 'backup', async ({ database, storage }) => {
    const manifest = await createBackup(
      {
        db: database.db as unknown as Kysely<unknown>,
        databaseKind: database.kind,
        storageKind: storage.kind,
        uploadsDir: uploadsDir(config.dataDir, storage.kind),
        tesseraVersion: config.version,
      },
      out,
      createProgress(),
    );
    const rows = manifest.tables.reduce((n, t) => n + t.rows, 0);
    console.log(`backup written: ${out} (schema ${manifest.schema_version}, ${manifest.tables.length} tables, ${rows} rows, ${manifest.objects.files.length} objects)`);
  });
}

/** `tessera restore FILE`: into an empty database and data directory only. */
export async function restoreCommand(args: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(args, {}, RESTORE_USAGE);
  const [file, ...extra] = positionals;
  if (!file || extra.length) throw new UsageError(RESTORE_USAGE);
  const config = readConfigOrExit(process.env);
  await withContainer(config, 'restore', async ({ database, storage }) => {
    try {
      const manifest = await restoreBackup(
        { db: database.db as unknown as Kysely<unknown>, uploadsDir: uploadsDir(config.dataDir, storage.kind) },
        path.resolve(file),
        createProgress(),
      );
      console.log(`restored ${file}: schema ${manifest.schema_version}, ${manifest.tables.reduce((n, t) => n + t.rows, 0)} rows, ${manifest.objects.files.length} objects`);
    } catch (err) {
      if (err instanceof RestoreRefused) throw new CommandError(`restore refused: ${err.message}`);
      throw err;
    }
  });
}
