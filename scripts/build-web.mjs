#!/usr/bin/env node
// Builds the web app (web/ -> dist/web) unless nothing it is made of changed since the last
// build: `npm start` runs the build every time, and a Vite build is the slow part of it.
// What the build depends on: every file under web/ and the installed versions (package-lock.json).
// Their SHA-256 is kept in dist/web/.build-stamp. `--force` rebuilds anyway.
// Assets are then written pre-compressed (.br, .gz) for the server to send as they are.
// The build goes to a fresh folder that replaces dist/web only when complete, under a lock, so
// two builds at once (parallel test files) or a half-finished one never leave a broken app.
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));
const webDir = path.join(root, 'web');
const outDir = path.join(root, 'dist', 'web');
const stampFile = path.join(outDir, '.build-stamp');
const COMPRESSIBLE = /\.(js|css|html|svg|json|txt)$/;
const MIN_COMPRESS_BYTES = 1024;
const lockDir = path.join(root, 'dist', '.web-build.lock');
const STALE_LOCK_MS = 5 * 60_000;

function filesUnder(dir) {
  const out = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) out.push(...filesUnder(full));
    else if (entry.isFile()) out.push(full);
  }
  return out;
}

function sourceHash() {
  const hash = createHash('sha256');
  const inputs = [...filesUnder(webDir), path.join(root, 'package-lock.json')].filter(existsSync).sort();
  for (const file of inputs) {
    hash.update(path.relative(root, file)).update('\0').update(readFileSync(file)).update('\0');
  }
  return hash.digest('hex');
}

function precompress(dir) {
  let count = 0;
  for (const file of filesUnder(dir)) {
    if (!COMPRESSIBLE.test(file) || statSync(file).size < MIN_COMPRESS_BYTES) continue;
    const body = readFileSync(file);
    writeFileSync(`${file}.gz`, gzipSync(body, { level: 9 }));
    writeFileSync(`${file}.br`, brotliCompressSync(body, { params: { [constants.BROTLI_PARAM_QUALITY]: 11, [constants.BROTLI_PARAM_SIZE_HINT]: body.length } }));
    count += 1;
  }
  return count;
}

function upToDate(hash) {
  const previous = existsSync(stampFile) ? readFileSync(stampFile, 'utf8').trim() : null;
  return previous === hash && existsSync(path.join(outDir, 'index.html'));
}

/** mkdir is atomic: whoever creates the folder builds; the others wait for it, then look again. */
async function withLock(work) {
  mkdirSync(path.dirname(lockDir), { recursive: true });
  for (;;) {
    try {
      mkdirSync(lockDir);
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (Date.now() - statSync(lockDir, { throwIfNoEntry: false })?.mtimeMs > STALE_LOCK_MS) rmSync(lockDir, { recursive: true, force: true });
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await work();
  } finally {
    rmSync(lockDir, { recursive: true, force: true });
  }
}

const force = process.argv.includes('--force');
const hash = sourceHash();
if (!force && upToDate(hash)) {
  console.log('web: up to date (dist/web)');
  process.exit(0);
}

await withLock(async () => {
  if (!force && upToDate(hash)) {
    console.log('web: up to date (dist/web, built by another process)');
    return;
  }
  const started = Date.now();
  const next = `${outDir}.next-${process.pid}`;
  const old = `${outDir}.old-${process.pid}`;
  const { build } = await import('vite');
  await build({ configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir: next, emptyOutDir: true } });
  const compressed = precompress(next);
  writeFileSync(path.join(next, '.build-stamp'), `${hash}\n`);
  if (existsSync(outDir)) renameSync(outDir, old);
  renameSync(next, outDir);
  rmSync(old, { recursive: true, force: true });
  console.log(`web: built dist/web in ${Date.now() - started} ms (${compressed} files pre-compressed)`);
});
