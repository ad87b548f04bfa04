import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sql, type Kysely } from 'kysely';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBackup } from '../../src/modules/backup/backup.js';
import { createProgress } from '../../src/modules/backup/progress.js';
import { restoreBackup, RestoreRefused } from '../../src/modules/backup/restore.js';
import { tablesInDependencyOrder } from '../../src/modules/backup/tables.js';
import { signedInUser } from '../helpers/auth.js';
import { runCli } from '../helpers/cli.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const quiet = createProgress(null);
const work = mkdtempSync(path.join(tmpdir(), 'tessera-backup-test-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

function dbOf(t: TestApp): Kysely<unknown> {
  return t.container.database.db as unknown as Kysely<unknown>;
}

function uploadsOf(t: TestApp): string {
  return path.join(t.config.dataDir, 'uploads');
}

/** Row count and a digest of every row of every table: equal digests mean byte-identical rows. */
async function fingerprint(db: Kysely<unknown>): Promise<Record<string, { rows: number; digest: string | null }>> {
  const out: Record<string, { rows: number; digest: string | null }> = {};
  for (const table of await tablesInDependencyOrder(db)) {
    const r = await sql<{ rows: number; digest: string | null }>`
      select count(*)::int as rows, md5(string_agg(row_to_json(t)::text, E'\\n' order by row_to_json(t)::text)) as digest
      from ${sql.raw(`"${table}"`)} t`.execute(db);
    out[table] = r.rows[0] ?? { rows: 0, digest: null };
  }
  return out;
}

async function source(): Promise<BackupSourceArgs> {
  return { db: dbOf(a), databaseKind: a.container.database.kind, storageKind: 'local' as const, uploadsDir: uploadsOf(a), tesseraVersion: a.config.version };
}
type BackupSourceArgs = Parameters<typeof createBackup>[0];

let a: TestApp;
const objects: Record<string, Buffer> = {};

describe(`backup and restore (${BACKEND})`, () => {
  beforeAll(async () => {
    a = await createTestApp({ env: { RATE_LIMIT_REGISTER: '100/minute', RATE_LIMIT_LOGIN: '100/minute' } });
    // Users, sessions (with refresh tokens), e-mail tokens, signing keys, audit events: the real data.
    for (let i = 0; i < 3; i++) await signedInUser(a, { displayName: `Person ${i} — «ü»` });
    for (const key of ['avatars/u1/abc-800.webp', 'files/u1/f1', 'files/u2/nested name']) {
      objects[key] = randomBytes(4096 + key.length);
      await mkdir(path.dirname(path.join(uploadsOf(a), key)), { recursive: true });
      writeFileSync(path.join(uploadsOf(a), key), objects[key]);
    }
  });
  afterAll(() => a?.close());

  it('round trip: every row and every object comes back byte-identical, then the schema is latest', async () => {
    const before = await fingerprint(dbOf(a));
    expect(before.users?.rows).toBe(3);
    const archive = path.join(work, 'full.tar.gz');
    const manifest = await createBackup(await source(), archive, quiet);
    expect(manifest.tables.find((t) => t.name === 'users')?.rows).toBe(3);
    expect(manifest.objects.files.map((f) => f.key).sort()).toEqual(Object.keys(objects).sort());
    expect(manifest.schema_version).toBe(manifest.migrations.at(-1));

    const b = await createTestApp();
    try {
      await restoreBackup({ db: dbOf(b), uploadsDir: uploadsOf(b) }, archive, quiet);
      expect(await fingerprint(dbOf(b))).toEqual(before);
      for (const [key, bytes] of Object.entries(objects)) {
        expect(readFileSync(path.join(uploadsOf(b), key)).equals(bytes)).toBe(true);
      }
      // The restored instance works: the users can sign in with their old passwords.
      const row = await sql<{ email: string }>`select email from users order by email limit 1`.execute(dbOf(b));
      expect(row.rows[0]?.email).toMatch(/@example\.com$/);
    } finally {
      await b.close();
    }
  });

  it('refuses a truncated archive, a corrupt one, one from a newer schema, and a non-empty target — changing nothing', async () => {
    const good = path.join(work, 'good.tar.gz');
    await createBackup(await source(), good, quiet);

    const truncated = path.join(work, 'truncated.tar.gz');
    writeFileSync(truncated, readFileSync(good));
    truncateSync(truncated, Math.floor(statSync(good).size / 2));

    // Same archive, one table file altered: its checksum no longer matches the manifest.
    const unpacked = mkdtempSync(path.join(work, 'x-'));
    await tar.extract({ file: good, cwd: unpacked });
    const usersFile = path.join(unpacked, 'db', 'users.jsonl');
    writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('Person 1', 'Person X'));
    const corrupt = path.join(work, 'corrupt.tar.gz');
    await tar.create({ gzip: true, file: corrupt, cwd: unpacked }, ['manifest.json', 'db', 'objects']);
    writeFileSync(usersFile, readFileSync(usersFile, 'utf8').replace('Person X', 'Person 1'));

    const manifestFile = path.join(unpacked, 'manifest.json');
    const manifest = JSON.parse(readFileSync(manifestFile, 'utf8')) as { migrations: string[]; schema_version: string };
    manifest.migrations.push('9999_from_the_future');
    manifest.schema_version = '9999_from_the_future';
    writeFileSync(manifestFile, JSON.stringify(manifest));
    const newer = path.join(work, 'newer.tar.gz');
    await tar.create({ gzip: true, file: newer, cwd: unpacked }, ['manifest.json', 'db', 'objects']);

    const b = await createTestApp();
    try {
      const empty = await fingerprint(dbOf(b));
      const target = { db: dbOf(b), uploadsDir: uploadsOf(b) };
      await expect(restoreBackup(target, truncated, quiet)).rejects.toThrow(/truncated or corrupt/);
      await expect(restoreBackup(target, corrupt, quiet)).rejects.toThrow(/checksum mismatch in db\/users\.jsonl/);
      await expect(restoreBackup(target, newer, quiet)).rejects.toThrow(/newer schema \(9999_from_the_future/);
      await expect(restoreBackup(target, path.join(work, 'nope.tar.gz'), quiet)).rejects.toBeInstanceOf(RestoreRefused);
      expect(await fingerprint(dbOf(b))).toEqual(empty);
      expect(existsSync(path.join(uploadsOf(b), 'files'))).toBe(false);
      // Into the source itself: not empty.
      await expect(restoreBackup({ db: dbOf(a), uploadsDir: uploadsOf(a) }, good, quiet)).rejects.toThrow(/not empty/);
    } finally {
      await b.close();
    }
  });
});

describe.runIf(BACKEND === 'embedded')('tessera backup / restore on the command line (embedded data directories)', () => {
  it('backs up and restores a data directory, exit codes 0 / 1 / 2', { timeout: 180_000 }, async () => {
    const from = mkdtempSync(path.join(work, 'from-'));
    const to = mkdtempSync(path.join(work, 'to-'));
    expect((await runCli(['migrate', 'up'], { DATA_DIR: from })).code).toBe(0);
    await mkdir(path.join(from, 'uploads', 'files'), { recursive: true });
    writeFileSync(path.join(from, 'uploads', 'files', 'a'), 'hello');
    const archive = path.join(work, 'cli.tar.gz');
    const backup = await runCli(['backup', '--out', archive], { DATA_DIR: from });
    expect(backup.code, backup.stderr).toBe(0);
    expect(backup.stdout).toContain('backup written');
    expect(backup.stderr).toContain('backup: tessera_meta: 1 rows');

    const restore = await runCli(['restore', archive], { DATA_DIR: to });
    expect(restore.code, restore.stderr).toBe(0);
    expect(readFileSync(path.join(to, 'uploads', 'files', 'a'), 'utf8')).toBe('hello');
    const status = await runCli(['migrate', 'status'], { DATA_DIR: to });
    expect(status.stdout).not.toContain('pending');

    const again = await runCli(['restore', archive], { DATA_DIR: to });
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/restore refused: the target upload folder .* is not empty/);
    expect((await runCli(['restore'], { DATA_DIR: to })).code).toBe(2);
    expect((await runCli(['backup', '--bogus'], { DATA_DIR: from })).code).toBe(2);
  });
});
