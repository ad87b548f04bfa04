import { execFileSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WEB_ROOT, webAppSecurityHeaders } from '../../src/http/routes/web.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

/** How the server hands out the web app (no browser needed). Embedded project only. */
describe.runIf(process.env.TEST_BACKEND === 'embedded')('serving the web app', () => {
  let t: TestApp;
  let entry: string;
  const html = { accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8' };

  beforeAll(async () => {
    execFileSync(process.execPath, ['scripts/build-web.mjs'], { stdio: 'pipe' });
    entry = readdirSync(path.join(WEB_ROOT, 'assets')).find((f) => /^index-.*\.js$/.test(f)) ?? '';
    t = await createTestApp({ env: { API_V1_PREFIX: '/api/v1', LOG_LEVEL: 'warn' } });
  }, 120_000);

  afterAll(async () => {
    await t?.close();
  });

  it('answers / and client routes with index.html and the full browser headers', async () => {
    for (const url of ['/', '/login', '/u/3f1c8a52-1f0e-4a39-9d1c-2a8a1c1b0e11', '/reset-password?token=abc', '/no/such/page']) {
      const res = await t.app.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(200);
      expect(res.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(res.headers['cache-control']).toBe('no-cache');
      expect(res.headers['content-security-policy']).toContain("script-src 'self'");
      expect(res.headers['content-security-policy']).not.toContain("'unsafe-eval'");
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['cross-origin-opener-policy']).toBe('same-origin');
      expect(res.body).toContain(`src="/assets/${entry}"`);
      expect(res.body).toContain('<meta name="tessera-api-prefix" content="/api/v1"');
    }
  });

  it('leaves the API, uploads, docs and operations to their own 404s, and non-navigations too', async () => {
    for (const url of ['/api/v1/nope', '/api/nope', '/uploads/nope.png', '/health/x', '/metrics/x', '/.well-known/nope', '/openapi.json/x']) {
      const res = await t.app.inject({ url, headers: html });
      expect(res.statusCode, url).toBe(404);
      expect(res.headers['content-type'], url).toMatch(/^application\/problem\+json/);
    }
    const fetchLike = await t.app.inject({ url: '/login', headers: { accept: '*/*' } });
    expect(fetchLike.statusCode).toBe(404);
    const post = await t.app.inject({ method: 'POST', url: '/login', headers: html });
    expect(post.statusCode).toBe(404);
    expect((await t.app.inject({ url: '/health' })).statusCode).toBe(200);
  });

  it('serves hashed assets pre-compressed and cached for a year', async () => {
    const br = await t.app.inject({ url: `/assets/${entry}`, headers: { 'accept-encoding': 'br, gzip' } });
    expect(br.statusCode).toBe(200);
    expect(br.headers['content-encoding']).toBe('br');
    expect(br.headers['content-type']).toMatch(/^(application|text)\/javascript/);
    expect(br.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const plain = await t.app.inject({ url: `/assets/${entry}`, headers: { 'accept-encoding': 'identity' } });
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body.length).toBeGreaterThan(br.rawPayload.length);
    const favicon = await t.app.inject({ url: '/favicon.svg' });
    expect(favicon.headers['cache-control']).toBe('public, max-age=3600');
    expect((await t.app.inject({ url: '/index.html' })).statusCode).toBe(404);
    expect((await t.app.inject({ url: '/.build-stamp' })).statusCode).toBe(404);
  });

  it('lets the pages load avatars from the object store when it is on another origin', () => {
    const headers = webAppSecurityHeaders(t.config, 'https://cdn.example.com');
    expect(headers['content-security-policy']).toMatch(/img-src 'self' data: blob: https:\/\/cdn\.example\.com/);
    expect(headers['content-security-policy']).toMatch(/connect-src 'self' https:\/\/cdn\.example\.com/);
    expect(headers['content-security-policy']).toMatch(/script-src 'self'(;|$)/);
    const local = webAppSecurityHeaders(t.config, new URL(t.config.server.publicUrl).origin);
    expect(local['content-security-policy']).not.toContain('cdn.example.com');
  });
});
