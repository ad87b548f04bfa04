import type { Kysely } from 'kysely';
import { migrationStatus } from '../db/migrator.js';
import type { CleanupFinding, CleanupProgress, CleanupReport } from '../modules/files/storage-cleanup.js';
import { CommandError, parseCommandArgs, readConfigOrExit, UsageError, withContainer } from './context.js';

const USAGE = 'usage: tessera storage cleanup [--apply] [--min-age MINUTES]';

// An upload writes its object a moment before its row: younger objects are never orphans yet.
const DEFAULT_MIN_AGE_MINUTES = 60;

/**
 * `tessera storage cleanup [--apply]`: objects no row points at (a crash mid-upload) and rows
 * whose object is gone. A dry run unless --apply. Findings on stdout, one per line; progress
 * on stderr.
 */
export async function storageCommand(args: string[]): Promise<void> {
  const { positionals, values } = parseCommandArgs(args, { apply: { type: 'boolean' }, 'min-age': { type: 'string' } }, USAGE);
  const [action, ...extra] = positionals;
  if (action !== 'cleanup' || extra.length) throw new UsageError(USAGE);
  const minAge = values['min-age'] ?? String(DEFAULT_MIN_AGE_MINUTES);
  if (!/^\d+$/.test(minAge)) throw new UsageError(`--min-age takes a whole number of minutes\n${USAGE}`);
  const apply = values.apply === true;

  const config = readConfigOrExit(process.env);
  await withContainer(config, 'storage cleanup', async (container) => {
    const pending = (await migrationStatus(container.database.db as unknown as Kysely<unknown>)).filter((m) => !m.executedAt);
    if (pending.length) throw new CommandError(`the database schema is not up to date (${pending.length} pending); run tessera migrate up first`);

    process.stderr.write(`${apply ? 'cleaning' : 'checking (dry run)'} ${container.storage.kind} storage against the database…\n`);
    const progress = progressLine(process.stderr);
    const report = await container.files.cleanup.run({
      apply,
      minAgeMs: Number(minAge) * 60_000,
      staleReservationMs: container.files.service.staleReservationMs,
      onFinding: (finding) => {
        progress.clear();
        console.log(describeFinding(finding));
      },
      onProgress: (p) => progress.update(p),
    });
    progress.clear();
    for (const line of summarise(report, Number(minAge))) console.log(line);
  });
}

/**
 * Progress of a long run on stderr: a bar over the rows checked, redrawn in place at most five
 * times a second on a terminal; a plain line every 10 seconds otherwise (logs, CI).
 */
function progressLine(stream: NodeJS.WriteStream) {
  const tty = Boolean(stream.isTTY);
  const every = tty ? 200 : 10_000;
  let last = Date.now();
  let open = false;
  return {
    update(p: CleanupProgress) {
      const now = Date.now();
      if (now - last < every) return;
      last = now;
      const pct = p.rowsTotal ? Math.min(100, Math.floor((100 * p.rowsChecked) / p.rowsTotal)) : 100;
      const text = `${p.rowsChecked}/${p.rowsTotal} rows checked, ${p.objectsScanned} objects listed`;
      if (tty) {
        const filled = Math.round((24 * pct) / 100);
        stream.write(`\r[${'#'.repeat(filled)}${'.'.repeat(24 - filled)}] ${pct}% ${text}`);
        open = true;
      } else {
        stream.write(`${text} (${pct}%)\n`);
      }
    },
    clear() {
      if (open) stream.write('\r\x1b[K');
      open = false;
    },
  };
}

function describeFinding(f: CleanupFinding): string {
  if (f.kind === 'orphaned_object') {
    const action = { deleted: 'deleted', would_delete: 'would delete', delete_failed: 'NOT deleted (see the log)' }[f.action];
    return `orphaned object  ${f.key}  ${f.size} bytes  ${f.lastModified.toISOString()}  ${action}`;
  }
  const owner = f.reference.kind === 'file' ? `file ${f.reference.fileId} of user ${f.reference.userId}` : `avatar of user ${f.reference.userId}`;
  const action = { row_deleted: 'row deleted', would_delete_row: 'would delete the row', avatar_cleared: 'avatar cleared', would_clear_avatar: 'would clear the avatar' }[f.action];
  return `missing object   ${f.key}  ${owner}  ${action}`;
}

function summarise(r: CleanupReport, minAgeMinutes: number): string[] {
  const verb = (done: string, would: string) => (r.applied ? done : would);
  const lines = [
    `listed ${r.objectsScanned} objects, checked ${r.rowsChecked} rows`,
    `orphaned objects: ${r.orphanedObjects.count} (${r.orphanedObjects.bytes} bytes) ${verb('deleted', 'to delete')}` +
      (r.orphanedObjects.failed ? `, ${r.orphanedObjects.failed} could not be deleted` : '') +
      (r.recentObjectsSkipped ? `; ${r.recentObjectsSkipped} younger than ${minAgeMinutes} min left alone` : ''),
    `rows without their object: ${r.missingObjects.files} file rows ${verb('deleted', 'to delete')}, ${r.missingObjects.avatars} avatars ${verb('cleared', 'to clear')}`,
    `stale upload reservations: ${r.staleReservations.count} (${r.staleReservations.bytes} bytes) ${verb('released', 'to release')}`,
    `users with drifted usage counters: ${r.usageRecounted} ${verb('recounted', 'to recount')}`,
  ];
  if (!r.applied) lines.push('dry run: nothing was changed; run again with --apply to act');
  return lines;
}
