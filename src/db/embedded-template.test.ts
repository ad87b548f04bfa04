import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql } from 'kysely';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../config/index.js';
import { openDatabase } from './database.js';
import { embeddedTemplatePath } from './embedded-template.js';
import { migrateUp } from './migrator.js';
import { MIGRATIONS } from './migrations/index.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

async function firstStart() {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-template-'));
  dirs.push(dataDir);
  const database = await openDatabase(loadConfig({ DATA_DIR: dataDir }));
  try {
    const applied = await migrateUp(database.db as never);
    const { rows } = await sql<{ value: string }>`select value from tessera_meta where key = 'installation_id'`.execute(database.db);
    const databases = await sql<{ datname: string }>`select datname from pg_database`.execute(database.db);
    return { dataDir, applied, installationId: rows[0]?.value, databases: databases.rows.map((r) => r.datname) };
  } finally {
    await database.close();
  }
}

describe('the embedded database template (built by npm run build)', () => {
  it('starts a new data directory already migrated, with its own installation id, and leaves no partial copy', async () => {
    expect(existsSync(path.join(embeddedTemplatePath(), 'PG_VERSION'))).toBe(true);
    const a = await firstStart();
    const b = await firstStart();
    expect(a.applied).toEqual([]); // every migration came with the template
    expect(Object.keys(MIGRATIONS).length).toBeGreaterThan(0);
    expect(a.installationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(b.installationId).toMatch(/^[0-9a-f-]{36}$/);
    expect(a.installationId).not.toBe(b.installationId);
    expect(readdirSync(a.dataDir)).toEqual(['db']);
    expect(a.databases).toEqual(['postgres']); // no template databases to copy
  });
});
