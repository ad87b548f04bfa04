import { fork, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { deleteRedisKeys } from '../test/helpers/services.js';
import { rssKb } from './measure.js';

export const ROOT = fileURLToPath(new URL('../', import.meta.url));

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.listen(0, '127.0.0.1', () => {
      const a = srv.address();
      srv.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
    srv.on('error', reject);
  });
}

export async function waitFor(url: string, timeoutMs = 60_000): Promise<void> {
  const start = Date.now();
  while (Date.now() - start < timeoutMs) {
    try {
      if ((await fetch(url)).status === 200) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`${url} not ready in ${timeoutMs} ms`);
}

export interface Running {
  url: string;
  pid: number;
  child: ChildProcess;
  /** ms from spawn to /ready 200 */
  startMs: number;
  stop(): Promise<void>;
}

/**
 * `tessera serve` from the build (dist/), as `npm start` runs it; `stderr: 'pipe'` to filter its
 * stderr; `root`: another checkout's build (bench/ab.ts).
 */
export async function startTessera(
  env: Record<string, string>,
  dataDir?: string,
  options: { stderr?: 'inherit' | 'pipe'; root?: string; nodeArgs?: string[] } = {},
): Promise<Running & { dataDir: string }> {
  const root = options.root ?? ROOT;
  const port = await freePort();
  const dir = dataDir ?? mkdtempSync(path.join(tmpdir(), 'tessera-bench-'));
  const started = performance.now();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), path.join(root, 'bin/tessera.js'), 'serve'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', DATA_DIR: dir, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', LOG_FORMAT: 'json', ...env },
    stdio: ['ignore', 'ignore', options.stderr ?? 'inherit'],
  });
  const url = `http://127.0.0.1:${port}`;
  await waitFor(`${url}/ready`);
  const startMs = performance.now() - started;
  return {
    url,
    pid: child.pid ?? 0,
    child,
    startMs,
    dataDir: dir,
    stop: () => stopChild(child),
  };
}

export interface BareRoute {
  path: string;
  body: string;
  contentType: string;
  /** fixed response headers besides Content-Type */
  headers?: Record<string, string>;
  /** and a fresh X-Request-Id on each answer */
  requestId?: boolean;
  /** with Tessera's write batching (src/http/plugins/write-batching.ts) */
  batched?: boolean;
}

export async function startBare(routes: BareRoute[]): Promise<Running> {
  const port = await freePort();
  const started = performance.now();
  const child = fork(path.join(ROOT, 'bench/bare-server.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH ?? '', BARE_PORT: String(port), BARE_ROUTES: JSON.stringify(routes) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (c) => reject(new Error(`bare server exited ${c}`)));
  });
  return { url: `http://127.0.0.1:${port}`, pid: child.pid ?? 0, child, startMs: performance.now() - started, stop: () => stopChild(child) };
}

/** SIGTERM, then SIGKILL if the child has not exited within 15 s. */
export function stopChild(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null) return resolve();
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
    setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
  });
}

/** Resident set size of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  return rssKb(pid) / 1024;
}

export function removeDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}

const PG_ADMIN = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const BENCH_REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

async function pgAdmin(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: PG_ADMIN });
  await admin.connect();
  try {
    await admin.query(sql);
  } finally {
    await admin.end();
  }
}

/**
 * PostgreSQL + Redis for one Tessera under bench: a fresh database `name` (two benches at once
 * never share one) and a Redis key prefix of its own; `drop` removes both.
 */
export async function benchStores(name: string): Promise<{ env: Record<string, string>; drop(): Promise<void> }> {
  await pgAdmin(`drop database if exists ${name} with (force)`);
  await pgAdmin(`create database ${name}`);
  const url = new URL(PG_ADMIN);
  url.pathname = `/${name}`;
  const prefix = `tessera:${name}:`;
  return {
    env: { DATABASE_URL: url.toString(), REDIS_URL: BENCH_REDIS_URL, REDIS_KEY_PREFIX: prefix },
    async drop() {
      await pgAdmin(`drop database if exists ${name} with (force)`);
      await deleteRedisKeys(BENCH_REDIS_URL, prefix);
    },
  };
}
