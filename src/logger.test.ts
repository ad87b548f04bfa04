import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LOG_REDACTION, loggableUrl, redactSecretFields } from './logger.js';

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
