import { Migrator, sql, type Kysely, type MigrationInfo, type MigrationResultSet } from 'kysely';
import { MIGRATIONS } from './migrations/index.js';

/**
 * Kysely's migrator runs each batch in a transaction holding a PostgreSQL advisory lock
 * (pg_advisory_xact_lock), so instances starting together apply each migration once.
 */
export function createMigrator(db: Kysely<unknown>): Migrator {
  return new Migrator({
    db,
    provider: { getMigrations: async () => MIGRATIONS },
    migrationTableName: 'tessera_migrations',
    migrationLockTableName: 'tessera_migrations_lock',
  });
}

export class MigrationError extends Error {
  constructor(
    message: string,
    readonly results: MigrationResultSet['results'],
  ) {
    super(message);
  }
}

function check(set: MigrationResultSet): string[] {
  if (set.error) {
    const failed = set.results?.find((r) => r.status === 'Error');
    const cause = set.error instanceof Error ? set.error.message : String(set.error);
    throw new MigrationError(`migration ${failed?.migrationName ?? ''} failed: ${cause}`.replace('  ', ' '), set.results);
  }
  return (set.results ?? []).map((r) => r.migrationName);
}

/**
 * Whether every known migration is applied, in one query (Kysely's migrator first makes sure
 * its tables exist, takes its lock and reads its state: ~10 statements). Any doubt (no table
 * yet, an unknown or missing name) answers false and the migrator decides, under its lock.
 */
async function allApplied(db: Kysely<unknown>): Promise<boolean> {
  try {
    const { rows } = await sql<{ name: string }>`select name from tessera_migrations`.execute(db);
    const applied = new Set(rows.map((r) => r.name));
    const known = Object.keys(MIGRATIONS);
    return applied.size === known.length && known.every((name) => applied.has(name));
  } catch {
    return false;
  }
}

export async function migrateUp(db: Kysely<unknown>): Promise<string[]> {
  if (await allApplied(db)) return [];
  return check(await createMigrator(db).migrateToLatest());
}

export async function migrateDown(db: Kysely<unknown>, steps = 1): Promise<string[]> {
  const migrator = createMigrator(db);
  const undone: string[] = [];
  for (let i = 0; i < steps; i++) {
    const names = check(await migrator.migrateDown());
    if (names.length === 0) break;
    undone.push(...names);
  }
  return undone;
}

export async function migrationStatus(db: Kysely<unknown>): Promise<readonly MigrationInfo[]> {
  return createMigrator(db).getMigrations();
}

export const LATEST_MIGRATION = Object.keys(MIGRATIONS).sort().at(-1) ?? '';
