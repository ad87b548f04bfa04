import { fork } from 'node:child_process';
import path from 'node:path';
import pg from 'pg';
import { load } from './load.js';
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

export async function startBareArgon2(password: string): Promise<Running> {
  const port = await freePort();
  const child = fork(path.join(ROOT, 'bench/bare-argon2.ts'), [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH ?? '', BARE_PORT: String(port), BARE_PASSWORD: password },
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

/** Login throughput against the hash-only yardstick, interleaved A B A B. */
export async function loginVsHash(baseUrl: string, seconds: number) {
  const account = await signUp(baseUrl);
  const bare = await startBareArgon2(account.password);
  try {
    const body = JSON.stringify({ email: account.email, password: account.password });
    const login = { path: '/api/v1/auth/login', method: 'POST' as const, headers: { 'content-type': 'application/json' }, body };
    const hashOnly = { path: '/bare', method: 'POST' as const, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ password: account.password }) };
    // Concurrency 4: the hash runs on libuv's pool of 4 threads in both servers.
    const a1 = await load(baseUrl, login, seconds, 4);
    const b1 = await load(bare.url, hashOnly, seconds, 4);
    const a2 = await load(baseUrl, login, seconds, 4);
    const b2 = await load(bare.url, hashOnly, seconds, 4);
    const ours = a1.rps >= a2.rps ? a1 : a2;
    const yard = b1.rps >= b2.rps ? b1 : b2;
    return { ours, bare: yard, ratio: ours.rps / yard.rps };
  } finally {
    await bare.stop();
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

export async function clientCredentials(baseUrl: string, databaseUrl: string, seconds: number) {
  const client = await createClient(baseUrl, databaseUrl);
  const basic = Buffer.from(`${encodeURIComponent(client.id)}:${encodeURIComponent(client.secret)}`).toString('base64');
  const req = { path: '/api/v1/auth/token', method: 'POST' as const, headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: `Basic ${basic}` }, body: 'grant_type=client_credentials' };
  await load(baseUrl, req, 1);
  return load(baseUrl, req, seconds);
}

/**
 * Refresh-token rotations per second: each of `chains` sessions (of as many people) rotates its
 * own token as fast as the server answers (a rotated token is single-use, so a fixed request
 * can't be replayed).
 */
export async function refreshRotations(baseUrl: string, seconds: number, chains = 10) {
  const tokens: string[] = [];
  for (let i = 0; i < chains; i++) tokens.push((await signUp(baseUrl)).refreshToken);
  let ok = 0;
  let failed = 0;
  const deadline = performance.now() + seconds * 1000;
  await Promise.all(
    tokens.map(async (first) => {
      let token = first;
      while (performance.now() < deadline) {
        const res = await fetch(`${baseUrl}/api/v1/auth/refresh`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ refresh_token: token }) });
        const body = (await res.json()) as { refresh_token?: string };
        if (res.ok && body.refresh_token) {
          token = body.refresh_token;
          ok++;
        } else {
          failed++;
          break;
        }
      }
    }),
  );
  return { rps: ok / seconds, failed };
}
