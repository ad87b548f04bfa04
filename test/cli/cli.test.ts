import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exited, freePort, runCli, startCli, waitForReady } from '../helpers/cli.js';
import { BACKEND, TEST_REDIS_URL } from '../helpers/services.js';
import { createTestApp } from '../helpers/test-app.js';

const dirs: string[] = [];
function dataDir(): string {
  const d = mkdtempSync(path.join(tmpdir(), 'tessera-cli-'));
  dirs.push(d);
  return d;
}
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

describe('tessera CLI: usage and configuration', () => {
  it('--help exits 0; an unknown command or bad arguments exit 2', async () => {
    const help = await runCli(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('migrate up | down [n] | status');
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect((await runCli(['migrate', 'sideways'])).code).toBe(2);
    expect((await runCli(['migrate', 'down', '-3'])).code).toBe(2);
  });

  it('a bad configuration stops start-up with exit 1 and one line per bad variable', async () => {
    const res = await runCli(['serve'], { ENVIRONMENT: 'production', PORT: 'eighty', RATE_LIMIT_LOGIN: 'lots', ALLOWED_ORIGINS: '*', DATA_DIR: dataDir() });
    expect(res.code).toBe(1);
    const lines = res.stderr.trim().split('\n');
    for (const name of ['PORT', 'RATE_LIMIT_LOGIN', 'ALLOWED_ORIGINS', 'JWT_SECRET_KEY', 'DATABASE_URL']) {
      expect(lines.some((l) => l.startsWith(`tessera: configuration: ${name}:`))).toBe(true);
    }
    expect(res.stderr).not.toMatch(/\n\s+at /); // no stack trace
  });

  // What operators run is bin/tessera.js → dist/bundle/ (scripts/bundle.mjs), built by `npm ci`;
  // the rest of this file runs the sources. The bundle moves modules away from their source
  // depth: the version, the web app and the embedded template must still be found.
  it('the built tessera (dist/bundle) reports its version and serves /ready and the web app', async () => {
    const root = path.resolve(import.meta.dirname, '../..');
    const bin = path.join(root, 'bin', 'tessera.js');
    const version = spawnSync(process.execPath, [bin, '--version'], { encoding: 'utf8' });
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe((JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { version: string }).version);

    const port = await freePort();
    const child = spawn(process.execPath, [bin, 'serve'], {
      env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir(), PORT: String(port), HOST: '127.0.0.1', LOG_FORMAT: 'json' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      await waitForReady(port);
      const page = await fetch(`http://127.0.0.1:${port}/`, { headers: { accept: 'text/html' } });
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<!doctype html>');
      child.kill('SIGTERM');
      expect(await exited(child)).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stderr).toBe('');
  });
});

describe(`tessera serve (${BACKEND})`, () => {
  let env: Record<string, string>;
  let port: number;
  let closeStores: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    port = await freePort();
    env = { DATA_DIR: dataDir(), PORT: String(port), HOST: '127.0.0.1', LOG_LEVEL: 'info', SHUTDOWN_TIMEOUT_MS: '10000' };
    if (BACKEND === 'postgres') {
      // A fresh PostgreSQL database (the harness clones one) and Redis.
      const t = await createTestApp();
      env.DATABASE_URL = t.env.DATABASE_URL ?? '';
      env.REDIS_URL = TEST_REDIS_URL;
      env.REDIS_KEY_PREFIX = t.env.REDIS_KEY_PREFIX ?? 'tessera:cli:';
      await t.app.close();
      closeStores = () => t.close();
    }
  });
  afterAll(async () => {
    await closeStores?.();
  });

  it('serves /health, /ready, /metrics, /openapi.json and /docs; SIGTERM lets a slow request finish and exits 0', async () => {
    const child = startCli(['serve'], env);
    let stderr = '';
    child.stderr?.on('data', (c: Buffer) => (stderr += c.toString()));
    try {
      await waitForReady(port);
      for (const p of ['/health', '/ready', '/metrics', '/openapi.json', '/docs/']) {
        expect((await fetch(`http://127.0.0.1:${port}${p}`)).status, p).toBe(200);
      }

      if (BACKEND === 'embedded') {
        // While serve holds the embedded data, another command refuses and names the process.
        const busy = await runCli(['migrate', 'status'], env);
        expect(busy.code).toBe(1);
        expect(busy.stderr).toContain(`in use by process ${child.pid}`);
      }

      // A request whose body is still arriving when SIGTERM comes in must be answered.
      const socket = net.connect(port, '127.0.0.1');
      await new Promise((r) => socket.once('connect', r));
      let response = '';
      socket.on('data', (c: Buffer) => (response += c.toString()));
      const body = '{"probe": "in flight"}';
      socket.write(`POST /api/v1/in-flight HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body.slice(0, 5)}`);
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGTERM');
      await new Promise((r) => setTimeout(r, 500));
      // New connections are refused once shutdown starts.
      await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
      socket.write(body.slice(5));
      const code = await exited(child);
      await new Promise((r) => setTimeout(r, 50));
      expect(response).toMatch(/^HTTP\/1\.1 404 /);
      expect(response).toContain('application/problem+json');
      expect({ code, stderr: stderr.slice(-2000) }).toMatchObject({ code: 0 });
      socket.destroy();
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
    expect(stderr).not.toMatch(/Error/);
  });

  it('migrate status / down / up work on the data serve left behind', async () => {
    const status = await runCli(['migrate', 'status'], env);
    expect(status.code).toBe(0);
    expect(status.stdout).toMatch(/^applied {2}0001_meta/m);
    const down = await runCli(['migrate', 'down', '99'], env);
    expect(down.code).toBe(0);
    expect(down.stdout).toContain('reverted 0001_meta');
    expect((await runCli(['migrate', 'status'], env)).stdout).toMatch(/^pending {2}0001_meta/m);
    const up = await runCli(['migrate', 'up'], env);
    expect(up.code).toBe(0);
    expect(up.stdout).toContain('applied 0001_meta');
    expect((await runCli(['migrate', 'up'], env)).stdout).toContain('up to date');
  });
});
