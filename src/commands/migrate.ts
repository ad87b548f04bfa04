import type { Kysely } from 'kysely';
import { migrateDown, migrateUp, migrationStatus } from '../db/migrator.js';
import { parseCommandArgs, readConfigOrExit, UsageError, withContainer } from './context.js';

const USAGE = 'usage: tessera migrate up | down [n] | status';

export async function migrateCommand(args: string[]): Promise<void> {
  const { positionals } = parseCommandArgs(args, {}, USAGE);
  const [action, n, ...extra] = positionals;
  if (!action || !['up', 'down', 'status'].includes(action) || extra.length || (n !== undefined && action !== 'down')) throw new UsageError(USAGE);
  let steps = 1;
  if (action === 'down' && n !== undefined) {
    if (!/^\d+$/.test(n) || Number(n) < 1) throw new UsageError('migrate down takes a positive number of steps');
    steps = Number(n);
  }
  const config = readConfigOrExit(process.env);
  await withContainer(config, `migrate ${action}`, async ({ database }) => {
    const db = database.db as unknown as Kysely<unknown>;
    if (action === 'up') {
      const applied = await migrateUp(db);
      console.log(applied.length ? applied.map((m) => `applied ${m}`).join('\n') : 'nothing to apply: the schema is up to date');
    } else if (action === 'down') {
      const undone = await migrateDown(db, steps);
      console.log(undone.length ? undone.map((m) => `reverted ${m}`).join('\n') : 'nothing to revert');
    } else {
      for (const m of await migrationStatus(db)) {
        console.log(`${m.executedAt ? 'applied' : 'pending'}  ${m.name}${m.executedAt ? `  ${m.executedAt.toISOString()}` : ''}`);
      }
    }
  });
}
