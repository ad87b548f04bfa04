#!/usr/bin/env node
// The `tessera` executable. The TypeScript sources are compiled into dist/ and bundled into
// dist/bundle/ (scripts/bundle.mjs) by `npm ci` (prepare) and again by `npm start` (prestart),
// so this stays a one-liner.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = fileURLToPath(new URL('../dist/bundle/main.js', import.meta.url));
if (!existsSync(entry)) {
  console.error('tessera: dist/bundle/ is missing; run `npm run build` (npm ci does it for you)');
  process.exit(1);
}
await import(entry);
