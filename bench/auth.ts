import autocannon from 'autocannon';
import { fork } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { compare, load } from './load.js';
import { cpuMs } from './measure.js';
import { freePort, ROOT, type Running } from './servers.js';

export interface Account {
  email: string;
  password: string;
  accessToken: string;
  refreshToken: string;
}

async function json(res: Response): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
}

let counter = 0;
export async function signUp(baseUrl: string): Promise<Account> {
  const email = `bench.${process.pid}.${counter++}@example.com`;
  const password = `Bench-${process.pid}-Pass-9!`;
  await json(await fetch(`${baseUrl}/api/v1/auth/register`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) }));
  return signIn(baseUrl, email, password);
}

export async function signIn(baseUrl: string, email: string, password: string): Promise<Account> {
  const body = await json(await fetch(`${baseUrl}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) }));
  return { email, password, accessToken: String(body.access_token), refreshToken: String(body.refresh_token) };
}

/** `env`: ARGON2_MEMORY_KIB, ARGON2_ITERATIONS and ARGON2_PARALLELISM, when not Tessera's defaults. */
export async function startBareArgon2(password: string, env: Record<string, string> = {}): Promise<Running> {
  const port = await freePort();
  const child = fork(path.join(ROOT, 'bench/bare-argon2.ts'), [], {
    execArgv: ['--import', 'tsx'],
    // One hash at a time per core, as Tessera's ARGON2_THREADS default: on 2 vCPUs libuv's default
    // pool of 4 made the yardstick itself up to 9 % slower (four pairs, 0–9 %: each hash time-sliced with three others).
    env: { ...env, PATH: process.env.PATH ?? '', BARE_PORT: String(port), BARE_PASSWORD: password, UV_THREADPOOL_SIZE: process.env.UV_THREADPOOL_SIZE ?? String(availableParallelism()) },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  await new Promise<void>((resolve, reject) => {
    child.once('message', () => resolve());
    child.once('exit', (c) => reject(new Error(`bare argon2 server exited ${c}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    pid: child.pid ?? 0,
    child,
    startMs: 0,
    stop: () =>
      new Promise((r) => {
        child.once('exit', () => r());
        child.kill('SIGTERM');
      }),
  };
}

/** Seconds of logins a fresh server gets before the login figure is measured (see loginVsHash). */
export const LOGIN_WARM_SECONDS = 20;

/**
 * Login throughput against the hash-only yardstick, both at 4 concurrent requests and one hash
 * at a time per core in both servers (Tessera's ARGON2_THREADS hashing threads; libuv's pool,
 * sized to the cores, in the yardstick).
 *
 * At ~100 logins/s the login path's JavaScript takes tens of seconds to reach V8's optimising
 * tier: on a fresh server the main thread spent 2.45 ms per login in the first 4 s and 1.57 ms
 * after 30 s (scratch measurements, 2026-12-03), while the bare route, a tenth of the code, is
 * warm at once. So one cold pair is measured first and reported as it is; then Tessera gets
 * LOGIN_WARM_SECONDS of logins (the yardstick 3 s), and the figure is the median of four
 * adjacent pairs of `seconds` each: the steady state of a server under sustained login load.
 */
export async function loginVsHash(baseUrl: string, seconds: number, options: { statements?: { databaseUrl?: string } } = {}) {
  const account = await signUp(baseUrl);
  // statements: the yardstick also runs the sign-in's two statements (bench/bare-argon2.ts), on
  // Tessera's PostgreSQL database when given its URL, else on an embedded database of its own.
  const dataDir = options.statements && !options.statements.databaseUrl ? mkdtempSync(path.join(tmpdir(), 'tessera-bare-argon2-')) : null;
  const statements = options.statements
    ? { BARE_STATEMENTS: '1', ...(options.statements.databaseUrl ? { BARE_DATABASE_URL: options.statements.databaseUrl, BARE_EMAIL: account.email } : { BARE_DATA_DIR: dataDir! }) }
    : {};
  const bare = await startBareArgon2(account.password, statements);
  try {
    const body = JSON.stringify({ email: account.email, password: account.password });
    const login = { path: '/api/v1/auth/login', method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
    const hashOnly = { path: '/bare', method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: account.password }) };
    const probe = await fetch(`${bare.url}/bare`, { method: 'POST', headers: hashOnly.headers, body: hashOnly.body });
    if (probe.status !== 200) throw new Error(`the login yardstick answered ${probe.status}: ${await probe.text()}`);
    const coldOurs = await load(baseUrl, login, seconds, 4);
    const coldBare = await load(bare.url, hashOnly, seconds, 4);
    const warm = await compare(baseUrl, bare.url, login, hashOnly, seconds, { connections: 4, pairs: 4, each: seconds, warm: { ours: LOGIN_WARM_SECONDS, bare: 3 } });
    return { ...warm, cold: { ours: coldOurs, bare: coldBare, ratio: coldOurs.rps / coldBare.rps } };
  } finally {
    await bare.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  }
}

/** An OAuth client made through the admin API, after promoting a user to admin in SQL. */
export async function createClient(baseUrl: string, databaseUrl: string): Promise<{ id: string; secret: string }> {
  const admin = await signUp(baseUrl);
  const db = new pg.Client({ connectionString: databaseUrl });
  await db.connect();
  await db.query(`update users set role = 'admin' where email = $1`, [admin.email]);
  await db.end();
  const body = await json(
    await fetch(`${baseUrl}/api/v1/admin/clients`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${admin.accessToken}` },
      body: JSON.stringify({ name: 'bench', scopes: ['files:read'] }),
    }),
  );
  return { id: String(body.client_id), secret: String(body.client_secret) };
}

/** client_credentials grants per second, and the server side's CPU time per grant. */
export async function clientCredentials(server: Running, databaseUrl: string, seconds: number) {
  const client = await createClient(server.url, databaseUrl);
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
  const req = { path: '/api/v1/auth/token', method: 'POST' as const, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` }, body: 'grant_type=client_credentials' };
  await load(server.url, req, 1);
  const cpu0 = serverSideCpuMs(server.pid, true);
  const result = await load(server.url, req, seconds);
  const cpu = serverSideCpuMs(server.pid, true) - cpu0;
  return { ...result, cpuUsPerGrant: (cpu * 1000) / (result.rps * seconds) };
}

/**
 * CPU time of the server side of a run: the Tessera process, and on PostgreSQL + Redis every
 * `postgres` and `redis-server` process of the machine (the bench's own database work is idle
 * while it is measured). Rates per core are operations per second of this CPU time.
 */
export function serverSideCpuMs(tesseraPid: number, withServices: boolean): number {
  let total = cpuMs(tesseraPid);
  if (!withServices) return total;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const comm = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (comm === 'postgres' || comm === 'redis-server') total += cpuMs(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return total;
}

/**
 * Refresh-token rotations per second: each of `chains` sessions (of as many people) rotates its
 * own token as fast as the server answers (a rotated token is single-use, so a fixed request
 * can't be replayed). The load is autocannon's, `chains` connections, each request sending a
 * current token of one of the sessions and putting back the one its answer gave, so the load
 * generator costs as little as it does in the other figures; `fetch` cost the bench process
 * ~0.6 ms per rotation, a third of the machine. Also the server side's CPU time per rotation (`serverSideCpuMs`).
 */
export async function refreshRotations(server: Running, seconds: number, withServices: boolean, chains = 10) {
  const run = async (secs: number, tokens: string[]) => {
    let ok = 0;
    let failed = 0;
    const cpu0 = serverSideCpuMs(server.pid, withServices);
    const result = await autocannon({
      url: `${server.url}/api/v1/auth/refresh`,
      connections: chains,
      duration: secs,
      requests: [
        {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          // autocannon clears a connection's context between requests: the chains' current
          // tokens wait in `tokens`, each taken by the next request and replaced by its answer's.
          setupRequest: (req) => ({ ...req, body: JSON.stringify({ refresh_token: tokens.pop() ?? 'none-left' }) }),
          onResponse: (status, body) => {
            const next = status === 200 ? (JSON.parse(body) as { refresh_token?: string }).refresh_token : undefined;
            if (next) {
              ok++;
              tokens.push(next);
            } else failed++;
          },
        },
      ],
    });
    const cpu = serverSideCpuMs(server.pid, withServices) - cpu0;
    return { rps: ok / secs, failed, p99: result.latency.p99, cpuUsPerRotation: ok ? (cpu * 1000) / ok : 0 };
  };
  const accounts = async () => Promise.all(Array.from({ length: chains }, () => signUp(server.url).then((a) => a.refreshToken)));
  await run(1, await accounts());
  const a = await run(seconds, await accounts());
  const b = await run(seconds, await accounts());
  return a.rps >= b.rps ? a : b;
}

/**
 * How long a change that must be in force on every instance at once takes to answer: sign-out
 * (POST /auth/logout with the access token) and a privacy change (PATCH /users/me/preferences).
 * On Redis with local copies (REDIS_NEAR_CACHE_MS), each answers only once every instance has
 * dropped its copy; one request at a time, so the figure is the latency, not a queue.
 */
export async function inForceLatency(baseUrl: string, count = 20): Promise<{ signOut: number[]; privacy: number[] }> {
  const account = await signUp(baseUrl);
  const signOut: number[] = [];
  const privacy: number[] = [];
  for (let i = 0; i < count; i++) {
    const { accessToken } = await signIn(baseUrl, account.email, account.password);
    const auth = { authorization: `Bearer ${accessToken}` };
    const visibility = i % 2 ? 'public' : 'private';
    let started = performance.now();
    const patched = await fetch(`${baseUrl}/api/v1/users/me/preferences`, {
      method: 'PATCH',
      headers: { ...auth, 'content-type': 'application/json' },
      body: JSON.stringify({ privacy: { profile_visibility: visibility } }),
    });
    privacy.push(performance.now() - started);
    if (!patched.ok) throw new Error(`PATCH preferences: ${patched.status}`);
    started = performance.now();
    const out = await fetch(`${baseUrl}/api/v1/auth/logout`, { method: 'POST', headers: auth });
    signOut.push(performance.now() - started);
    if (out.status !== 204) throw new Error(`logout: ${out.status}`);
  }
  return { signOut, privacy };
}
