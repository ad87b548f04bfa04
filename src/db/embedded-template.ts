import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { PGlite } from '@electric-sql/pglite';

/**
 * A fresh embedded database costs an initdb (≈ 4 s on a small machine). The build does it
 * once and keeps the empty cluster as a tarball, so a first `npm start` only unpacks it
 * (≈ 1 s). The tarball is tied to the PGlite version that made it; any other is ignored.
 */
const pgliteVersion = ((): string => {
  // The package does not export its package.json; find it beside the resolved entry point.
  let dir = path.dirname(createRequire(import.meta.url).resolve('@electric-sql/pglite'));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
})();

// <package root>/dist/embedded, whether this file runs from src/db (tests) or dist/db.
const TEMPLATE_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../dist/embedded');

export function embeddedTemplatePath(): string {
  return path.join(TEMPLATE_DIR, `pglite-${pgliteVersion}.tar.gz`);
}

/** The template as PGlite's loadDataDir wants it, or null (then PGlite runs initdb itself). */
export function readEmbeddedTemplate(): Blob | null {
  const file = embeddedTemplatePath();
  return existsSync(file) ? new Blob([readFileSync(file)]) : null;
}

export async function buildEmbeddedTemplate(): Promise<string> {
  const file = embeddedTemplatePath();
  if (existsSync(file)) return file;
  mkdirSync(TEMPLATE_DIR, { recursive: true });
  const pglite = await PGlite.create();
  const dump = await pglite.dumpDataDir('gzip');
  await pglite.close();
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, Buffer.from(await dump.arrayBuffer()));
  renameSync(tmp, file);
  return file;
}

// `node dist/db/embedded-template.js`: run by `npm run build`.
if (process.argv[1] && fileURLToPath(import.meta.url) === path.resolve(process.argv[1])) {
  const started = Date.now();
  const file = await buildEmbeddedTemplate();
  console.error(`embedded database template: ${path.relative(process.cwd(), file)} (${Date.now() - started} ms)`);
}
