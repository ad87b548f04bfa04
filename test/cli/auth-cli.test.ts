import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, freePort, runCli, startCli, waitForReady } from '../helpers/cli.js';
import { BACKEND, TEST_REDIS_URL } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

const PASSWORD = 'Operator-Chosen-Pass-42!';

describe(`tessera admin | sessions | keys | clients (${BACKEND})`, () => {
  let env: Record<string, string>;
  let dataDir: string;
  let port: number;
  let stores: TestApp | undefined;
  let server: ChildProcess | undefined;
  const email = `root.${Date.now()}@example.com`;
  let client: { id: string; secret: string };

  beforeAll(async () => {
    dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-auth-cli-'));
    port = await freePort();
    env = { DATA_DIR: dataDir, PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'warn', RATE_LIMIT_ENABLED: 'false' };
    if (BACKEND === 'postgres') {
      stores = await createTestApp();
      env.DATABASE_URL = stores.env.DATABASE_URL ?? '';
      env.REDIS_URL = TEST_REDIS_URL;
      env.REDIS_KEY_PREFIX = stores.env.REDIS_KEY_PREFIX ?? 'tessera:cli:';
      await stores.app.close();
    }
  }, 60_000);
  afterAll(async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await exited(server);
    }
    await stores?.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('usage mistakes exit 2', async () => {
    const cases = [['admin', 'create'], ['sessions', 'revoke-all', '--bogus'], ['clients', 'create', '--name', 'x'], ['keys']];
    const results = await Promise.all(cases.map((args) => runCli(args, env)));
    results.forEach((res, i) => {
      expect(res.code, cases[i]!.join(' ')).toBe(2);
      expect(res.stderr).toMatch(/usage: tessera/);
    });
  }, 60_000);

  it('admin create --password-stdin makes a verified admin; a duplicate or weak password exits 1 with one line', async () => {
    const created = await runCli(['admin', 'create', '--email', email, '--password-stdin'], env, `${PASSWORD}\n`);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain(`created admin ${email}`);
    expect(created.stdout).not.toContain(PASSWORD);
    const again = await runCli(['admin', 'create', '--email', email.toUpperCase(), '--password-stdin'], env, `${PASSWORD}\n`);
    expect(again.code).toBe(1);
    expect(again.stderr).toMatch(/already exists/);
    const weak = await runCli(['admin', 'create', '--email', `weak.${email}`, '--password-stdin'], env, 'password\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/password/);
    expect(weak.stderr).not.toMatch(/\n\s+at /);
  }, 90_000);

  it('admin create without --password-stdin prints a generated password once', async () => {
    const res = await runCli(['admin', 'create', '--email', `second.${email}`], env);
    expect(res.code, res.stderr).toBe(0);
    expect(res.stdout).toMatch(/password \(shown once\): \S{20,}/);
  }, 60_000);

  it('clients create prints the secret once; keys rotate names the new key', async () => {
    const res = await runCli(['clients', 'create', '--name', 'Reporting', '--scopes', 'reports:read reports:write'], env);
    expect(res.code, res.stderr).toBe(0);
    client = { id: /client_id:\s+(\S+)/.exec(res.stdout)![1]!, secret: /client_secret:\s+(\S+)/.exec(res.stdout)![1]! };
    expect(res.stdout).toContain('reports:read reports:write');
    const rotated = await runCli(['keys', 'rotate'], env);
    expect(rotated.code, rotated.stderr).toBe(0);
    expect(rotated.stdout).toMatch(/new signing key \S+ is active/);
  }, 60_000);

  it('with the server running: sign in as the admin and the client; lock and revoke-all take effect (or refuse on embedded data)', async () => {
    server = startCli(['serve'], env);
    let serverErr = '';
    server.stderr?.on('data', (c: Buffer) => (serverErr += c.toString()));
    // Start-up opens the embedded database and migrates: slow on a loaded machine.
    await waitForReady(port, 90_000).catch((err: unknown) => {
      throw new Error(`${(err as Error).message}\n${serverErr.slice(-2000)}`);
    });
    const base = `http://127.0.0.1:${port}/api/v1`;
    const login = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
    expect(login.status).toBe(200);
    const { access_token, user } = (await login.json()) as { access_token: string; user: { role: string; email_verified: boolean } };
    expect(user).toMatchObject({ role: 'admin', email_verified: true });
    expect((await fetch(`${base}/admin/clients`, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(200);
    const grant = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ grant_type: 'client_credentials', client_id: client.id, client_secret: client.secret }),
    });
    expect(grant.status).toBe(200);

    const revoke = await runCli(['sessions', 'revoke-all', '--user', email], env);
    if (BACKEND === 'embedded') {
      // The embedded database belongs to the running server: the command refuses, naming it.
      expect(revoke.code).toBe(1);
      expect(revoke.stderr).toMatch(/in use by process \d+/);
    } else {
      expect(revoke.code, revoke.stderr).toBe(0);
      expect(revoke.stdout).toMatch(/signed out 1 session of/);
      // Through Redis, the running server refuses the token on its next request.
      expect((await fetch(`${base}/auth/me`, { headers: { authorization: `Bearer ${access_token}` } })).status).toBe(401);
      const lock = await runCli(['admin', 'lock', email], env);
      expect(lock.code, lock.stderr).toBe(0);
      const locked = await fetch(`${base}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: PASSWORD }) });
      expect(locked.status).toBe(401);
      expect((await runCli(['admin', 'unlock', email], env)).code).toBe(0);
    }
    server.kill('SIGTERM');
    expect(await exited(server)).toBe(0);
  }, 180_000);

  it('after the server stopped, operator commands work on the embedded data too', async () => {
    if (server && server.exitCode === null) {
      server.kill('SIGTERM');
      await exited(server);
    }
    const lock = await runCli(['admin', 'lock', email], env);
    expect(lock.code, lock.stderr).toBe(0);
    expect(lock.stdout).toContain(`locked ${email}`);
    const unlock = await runCli(['admin', 'unlock', email], env);
    expect(unlock.code).toBe(0);
    const all = await runCli(['sessions', 'revoke-all'], env);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(/signed out \d+ sessions?/);
    const missing = await runCli(['admin', 'lock', 'nobody@example.com'], env);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('No account has the address nobody@example.com');
  }, 120_000);
});
