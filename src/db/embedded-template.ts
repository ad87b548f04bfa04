import { constants, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, sql } from 'kysely';
import { LATEST_MIGRATION, migrateUp } from './migrator.js';
import { PGliteDialect } from './pglite-dialect.js';
import { PACKAGE_ROOT } from '../package-root.js';

/**
 * A fresh embedded database costs an initdb (≈ 4 s on a small machine) and then the migrations
 * (≈ 1 s). The build does both once, into a data directory it keeps (`dist/embedded/pglite-…`,
 * shut down cleanly), so a first `npm start` only copies that directory (≈ 0.2 s; unpacking a
 * dump through PGlite took ≈ 1.4 s) and finds no migration pending. The template is tied to the
 * PGlite version and the latest migration that made it; any other is ignored (a stale one would
 * still be correct: serve applies what is pending). What must differ per installation is not in
 * it: the installation id is replaced on first start (`personaliseTemplate`); secrets and
 * signing keys are made on first start.
 */
const pgliteVersion = ((): string => {
  // The package does not export its package.json; find it beside the resolved entry point.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
})();

const TEMPLATE_DIR = path.join(PACKAGE_ROOT, 'dist', 'embedded');

// Raised whenever the way the template is made changes, so a template built the old way is rebuilt.
const TEMPLATE_FORMAT = 2;

export function embeddedTemplatePath(): string {
  return path.join(TEMPLATE_DIR, `pglite-${pgliteVersion}-${LATEST_MIGRATION}-f${TEMPLATE_FORMAT}`);
}

/** On a database just unpacked from the template: what the template must not share between installations. */
export async function personaliseTemplate(pglite: PGlite): Promise<void> {
  await pglite.query(`update tessera_meta set value = gen_random_uuid()::text, updated_at = now() where key = 'installation_id'`);
}

/**
 * Fills `dir` (absent or empty) with a copy of the template; false when there is no template
 * (then PGlite runs initdb itself). The copy is made beside `dir` and renamed into place, so an
 * interrupted first start leaves no half-copied database.
 */
export function copyEmbeddedTemplate(dir: string): boolean {
  const template = embeddedTemplatePath();
  if (!existsSync(path.join(template, 'PG_VERSION'))) return false;
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  // A copy-on-write clone where the file system has them, a plain copy elsewhere.
  cpSync(template, partial, { recursive: true, mode: constants.COPYFILE_FICLONE });
  rmSync(dir, { recursive: true, force: true }); // empty: no PG_VERSION in it
  renameSync(partial, dir);
  return true;
}

export async function buildEmbeddedTemplate(): Promise<string> {
  const target = embeddedTemplatePath();
  if (existsSync(path.join(target, 'PG_VERSION'))) return target;
  mkdirSync(TEMPLATE_DIR, { recursive: true });
  const building = `${target}.building-${process.pid}`;
  rmSync(building, { recursive: true, force: true });
  const pglite = await PGlite.create(building);
  const db = new Kysely<unknown>({ dialect: new PGliteDialect(pglite) });
  await migrateUp(db);
  // initdb's template0 and template1 serve only CREATE DATABASE, which the embedded database
  // never runs: without them a first start copies ~450 files instead of ~1,050 (every catalog
  // is a few files per database), 14 MB less.
  await sql`alter database template0 is_template false`.execute(db);
  await sql`drop database template0`.execute(db);
  await sql`alter database template1 is_template false`.execute(db);
  await sql`drop database template1`.execute(db);
  await sql`checkpoint`.execute(db);
  await pglite.close();
  renameSync(building, target);
  // Earlier templates (another PGlite version or migration set) are never read again.
  for (const old of readdirSync(TEMPLATE_DIR)) {
    if (old.startsWith('pglite-') && path.join(TEMPLATE_DIR, old) !== target) rmSync(path.join(TEMPLATE_DIR, old), { recursive: true, force: true });
  }
  return target;
}

// `node dist/db/embedded-template.js`: run by `npm run build`.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = Date.now();
  const dir = await buildEmbeddedTemplate();
  console.error(`embedded database template: ${path.relative(process.cwd(), dir)} (${Date.now() - started} ms)`);
}
