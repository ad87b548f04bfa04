import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * The package's root folder (where package.json is), found upward from this module's file: the
 * same folder whether the code runs from src/ (tests), from tsc's output in dist/, or from the
 * bundle in dist/bundle/ that `tessera` runs (scripts/bundle.mjs), where modules no longer sit
 * at their source depth.
 */
export const PACKAGE_ROOT = ((): string => {
  for (let dir = path.dirname(fileURLToPath(import.meta.url)); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json'))) return dir;
    if (path.dirname(dir) === dir) throw new Error(`no package.json above ${fileURLToPath(import.meta.url)}`);
  }
})();

/** package.json's version: what `tessera --version`, /health and the metrics report. */
export const PACKAGE_VERSION = (JSON.parse(readFileSync(path.join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
