import { spawnSync } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LOG_REDACTION, loggableUrl, redactSecretFields, turnBufferedLog } from './logger.js';

function capture() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info', ...LOG_REDACTION }, { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) });
  return { log, lines };
}

describe('log redaction', () => {
  it('censors secret fields of any logged object, in a copy', () => {
    const body = { email: 'a@example.com', password: 'hunter2-hunter2', nested: { token: 'deeper' } };
    const input = { body, count: 3, name: 'x', list: [{ password: 'in-array' }] };
    const out = redactSecretFields(input);
    expect(out.body).toEqual({ email: 'a@example.com', password: '[redacted]', nested: { token: 'deeper' } });
    expect(out.count).toBe(3);
    expect(out.list).toBe(input.list);
    // the caller's objects are unchanged; nothing to censor, nothing copied
    expect(body.password).toBe('hunter2-hunter2');
    const clean = { a: { b: 1 }, c: 'd' };
    expect(redactSecretFields(clean)).toBe(clean);
  });

  it('a line never carries credentials: secret fields, auth headers, cookies, query credentials', () => {
    const { log, lines } = capture();
    const err = Object.assign(new Error('boom'), { client_secret: 's3cr3t-value' });
    log.info({ body: { refresh_token: 'rt-value', keep: 'visible' }, headers: { authorization: 'Bearer at-value', cookie: 'sid=c-value' }, err }, 'm');
    log.info({ req: { method: 'GET', url: '/verify?token=tok-value&page=2', ip: '10.0.0.1' } }, 'r');
    const text = JSON.stringify(lines);
    for (const secret of ['rt-value', 'at-value', 'c-value', 's3cr3t-value', 'tok-value']) expect(text).not.toContain(secret);
    expect(lines[0]).toMatchObject({ body: { refresh_token: '[redacted]', keep: 'visible' }, headers: { authorization: '[redacted]', cookie: '[redacted]' }, err: { message: 'boom', client_secret: '[redacted]' } });
    expect(lines[1]!.req).toEqual({ method: 'GET', url: '/verify?token=[redacted]&page=2', remoteAddress: '10.0.0.1' });
  });

  it('query credentials: any parameter named like a token, code, key or secret', () => {
    expect(loggableUrl('/a?ticket=t1&x=1&api_key=k&client_secret=s&state=ok#frag')).toBe('/a?ticket=[redacted]&x=1&api_key=[redacted]&client_secret=[redacted]&state=ok#frag');
    expect(loggableUrl('/plain/path')).toBe('/plain/path');
  });
});

describe('turn-buffered log output', () => {
  it('lines logged in one turn are written together when it ends', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'tessera-log-'));
    const file = path.join(dir, 'out.log');
    const fd = openSync(file, 'w');
    try {
      const sink = turnBufferedLog(fd);
      sink.write('{"n":1}\n');
      sink.write('{"n":2}\n');
      expect(readFileSync(file, 'utf8')).toBe('');
      await new Promise((resolve) => setImmediate(resolve));
      expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n');
      sink.write('{"n":3}\n');
      sink.flush();
      expect(readFileSync(file, 'utf8')).toBe('{"n":1}\n{"n":2}\n{"n":3}\n');
    } finally {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('what is logged just before process.exit is written', () => {
    const script = [
      "import { createLogger } from './src/logger.ts';",
      "const log = createLogger({ logging: { level: 'info', format: 'json' }, environment: 'development', version: 't' });",
      "for (let i = 0; i < 3; i++) log.info({ i }, 'line');",
      "log.error('last words');",
      'process.exit(1);',
    ].join('\n');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: fileURLToPath(new URL('..', import.meta.url)), encoding: 'utf8' });
    expect(run.status).toBe(1);
    const lines = run.stdout.trim().split('\n').map((l) => JSON.parse(l) as { msg: string; i?: number });
    expect(lines.map((l) => l.msg)).toEqual(['line', 'line', 'line', 'last words']);
    expect(lines.map((l) => l.i)).toEqual([0, 1, 2, undefined]);
  });
});
