#!/usr/bin/env node
// Bundles tsc's output (dist/main.js and what it imports) into dist/bundle/, which `tessera`
// (bin/tessera.js) runs. Why: Node's ES module loader reads, resolves and links each file on its
// own, at ~0.5–1 ms a file here, and the service imported ~900 of them (typebox alone ~370,
// kysely ~260, our own ~125): ~0.5 s of every start. The bundle is a few files; start-up to
// /ready went from ~2.5 s to ~2.0 s on this 2-vCPU VM.
//
// - Code splitting keeps the dynamic imports dynamic: `serve` still starts opening the database
//   before it loads the rest of the service, and one-shot commands load only what they need.
// - Only ES-module-only packages with many files are bundled in (INLINE); every other package
//   stays an import of node_modules: CommonJS packages load through require, which is fast, and
//   native or WebAssembly packages (PGlite, sharp, argon2) find their files beside themselves.
// - Modules that need the package's folders find it through src/package-root.ts, not their own
//   depth below it (which bundling changes).
// - Written to a fresh folder that then replaces dist/bundle, so a half-written bundle never runs.
import { build } from 'esbuild';
import { renameSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const INLINE = new Set(['typebox', 'kysely', 'jose']);

const root = fileURLToPath(new URL('..', import.meta.url));
const outDir = path.join(root, 'dist', 'bundle');
const tempDir = path.join(root, 'dist', `.bundle-${process.pid}`);

function packageName(specifier) {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
}

rmSync(tempDir, { recursive: true, force: true });
await build({
  entryPoints: [path.join(root, 'dist', 'main.js')],
  outdir: tempDir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  chunkNames: '[name]-[hash]',
  sourcemap: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'node-modules-stay-external',
      setup(b) {
        b.onResolve({ filter: /^[^./]/ }, (args) => (args.path.startsWith('node:') || !INLINE.has(packageName(args.path)) ? { external: true } : undefined));
      },
    },
  ],
});
const old = path.join(root, 'dist', `.bundle-old-${process.pid}`);
try {
  renameSync(outDir, old);
} catch (err) {
  if (err.code !== 'ENOENT') throw err;
}
renameSync(tempDir, outDir);
rmSync(old, { recursive: true, force: true });
