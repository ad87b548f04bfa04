#!/usr/bin/env node
// Checks deploy/nginx with Debian's nginx, no Docker needed. Used by deploy/check.sh.
//
//   node deploy/check/nginx.mjs syntax      nginx -t on a copy of the real files
//   node deploy/check/nginx.mjs behaviour   runs nginx on that copy against stub upstreams
//
// The copy differs from the real files only where this machine is not the compose network:
//   - upstream hosts app1, app2, minio (resolved by Docker's DNS in compose) become loopback
//     addresses (127.0.0.1, 127.0.0.2, 127.0.0.3), so nginx can resolve them here;
//   - /etc/nginx/ssl/ becomes a directory holding a throwaway self-signed certificate;
//   - mime.types is Debian's copy next to the config (the compose image ships its own).
// `behaviour` also moves the listeners to free loopback ports, logs and temp files into the
// temporary directory, and drops `allow 127.0.0.0/8` from /metrics (to see the deny).
import { spawn, spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import tls from 'node:tls';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const source = process.env.TESSERA_NGINX_DIR ?? path.join(repo, 'deploy/nginx');
const mode = process.argv[2];

function fail(message) {
  console.error(`nginx check: ${message}`);
  process.exit(1);
}

function run(cmd, args, options = {}) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', ...options });
  if (r.error) fail(`${cmd}: ${r.error.message}`);
  return r;
}

function replaceOnce(text, from, to, file) {
  if (!text.includes(from)) fail(`expected "${from}" in ${file}; update deploy/check/nginx.mjs with the config`);
  return text.split(from).join(to);
}

/** A copy of deploy/nginx in a new temporary directory, adapted as described above. */
function makeCopy({ behaviour = false, ports = {} } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-nginx-'));
  // never the real certificate or ACME files that may sit in deploy/nginx/ssl and acme
  fs.cpSync(source, dir, { recursive: true, filter: (src) => !/^(ssl|acme)(\/|$)/.test(path.relative(source, src)) });
  fs.copyFileSync('/etc/nginx/mime.types', path.join(dir, 'mime.types'));
  const ssl = path.join(dir, 'ssl');
  fs.mkdirSync(ssl);
  const openssl = run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost',
    '-keyout', path.join(ssl, 'key.pem'), '-out', path.join(ssl, 'cert.pem')]);
  if (openssl.status !== 0) fail(`openssl: ${openssl.stderr}`);

  const confPath = path.join(dir, 'nginx.conf');
  let conf = fs.readFileSync(confPath, 'utf8');
  conf = replaceOnce(conf, 'server app1:8000', `server 127.0.0.1:${ports.app1 ?? 8000}`, 'nginx.conf');
  conf = replaceOnce(conf, 'server app2:8000', `server 127.0.0.2:${ports.app2 ?? 8000}`, 'nginx.conf');
  conf = replaceOnce(conf, 'server minio:9000', `server 127.0.0.3:${ports.minio ?? 9000}`, 'nginx.conf');
  const tlsPath = path.join(dir, 'tessera/tls.conf');
  fs.writeFileSync(tlsPath, replaceOnce(fs.readFileSync(tlsPath, 'utf8'), '/etc/nginx/ssl/', `${ssl}/`, 'tessera/tls.conf'));

  if (behaviour) {
    const acme = path.join(dir, 'acme');
    fs.mkdirSync(path.join(acme, '.well-known/acme-challenge'), { recursive: true });
    fs.writeFileSync(path.join(acme, '.well-known/acme-challenge/token-1'), 'challenge-answer');
    conf = replaceOnce(conf, 'listen 80 default_server;', `listen 127.0.0.1:${ports.http} default_server;`, 'nginx.conf');
    conf = replaceOnce(conf, 'listen 443 ssl http2 default_server;', `listen 127.0.0.1:${ports.https} ssl http2 default_server;`, 'nginx.conf');
    conf = replaceOnce(conf, 'root /var/www/acme;', `root ${acme};`, 'nginx.conf');
    conf = replaceOnce(conf, '/var/log/nginx/error.log', path.join(dir, 'error.log'), 'nginx.conf');
    conf = replaceOnce(conf, '/var/log/nginx/access.log', path.join(dir, 'access.log'), 'nginx.conf');
    conf = replaceOnce(conf, '            allow 127.0.0.0/8;\n', '', 'nginx.conf');
    const temp = ['body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => path.join(dir, `tmp-${t}`));
    for (const t of temp) fs.mkdirSync(t);
    conf = replaceOnce(conf, 'http {\n', `http {\n    client_body_temp_path ${temp[0]};\n    proxy_temp_path ${temp[1]};\n    fastcgi_temp_path ${temp[2]};\n    uwsgi_temp_path ${temp[3]};\n    scgi_temp_path ${temp[4]};\n`, 'nginx.conf');
    // workers run as nobody: let them write their temp files
    for (const t of temp) fs.chmodSync(t, 0o777);
    fs.chmodSync(dir, 0o755);
  }
  fs.writeFileSync(confPath, conf);
  return { dir, confPath };
}

function syntax() {
  const { dir, confPath } = makeCopy();
  const r = run('nginx', ['-t', '-q', '-c', confPath, '-g', `pid ${path.join(dir, 'nginx.pid')};`]);
  fs.rmSync(dir, { recursive: true, force: true });
  if (r.status !== 0) fail(`nginx -t failed:\n${r.stderr}`);
  const warnings = r.stderr.split('\n').filter((l) => l.trim() && !/the "listen \.\.\. http2" directive is deprecated/.test(l));
  if (warnings.length) fail(`nginx -t warned:\n${warnings.join('\n')}`);
}

// ------------------------------------------------------------------------------------------------
async function freePort(host = '127.0.0.1') {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.on('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

/** A stand-in for a Tessera instance (or MinIO): echoes what it received as JSON. */
function stubServer(name, hooks) {
  const server = http.createServer((req, res) => {
    let bytes = 0;
    let firstChunkAt = null;
    req.on('data', (chunk) => {
      if (bytes === 0) {
        firstChunkAt = Date.now();
        hooks.onFirstChunk?.(req);
      }
      bytes += chunk.length;
    });
    req.on('end', () => {
      const headers = { 'content-type': 'application/json' };
      if (req.url.startsWith('/own-headers')) {
        headers['x-frame-options'] = 'SAMEORIGIN';
        headers['strict-transport-security'] = 'max-age=60';
      }
      res.writeHead(200, headers);
      res.end(JSON.stringify({ server: name, method: req.method, url: req.url, headers: req.headers, bytes, firstChunkAt }));
    });
  });
  server.on('upgrade', (req, socket) => {
    const accept = crypto.createHash('sha1').update(`${req.headers['sec-websocket-key']}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`);
    socket.write(`hello from ${name}; upgrade=${req.headers.upgrade}; connection=${req.headers.connection}`);
    socket.end();
  });
  return server;
}

function request(port, { method = 'GET', pathName = '/', headers = {}, body = null, secure = true, host = 'tessera.test' } = {}) {
  return new Promise((resolve, reject) => {
    const lib = secure ? https : http;
    const req = lib.request({ host: '127.0.0.1', port, method, path: pathName, headers: { host, ...headers }, rejectUnauthorized: false, agent: false, servername: 'localhost' }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json = null;
        try {
          json = JSON.parse(text);
        } catch {
          // not JSON
        }
        resolve({ status: res.statusCode, headers: res.headers, rawHeaders: res.rawHeaders, text, json });
      });
    });
    req.on('error', reject);
    if (typeof body === 'function') body(req);
    else req.end(body ?? undefined);
  });
}

function headerCount(res, name) {
  return res.rawHeaders.filter((h, i) => i % 2 === 0 && h.toLowerCase() === name).length;
}

async function behaviour() {
  const ports = { app1: await freePort('127.0.0.1'), app2: await freePort('127.0.0.2'), minio: await freePort('127.0.0.3'), http: await freePort(), https: await freePort() };
  const firstChunk = { resolve: null };
  const hooks = { onFirstChunk: (req) => req.url.startsWith('/api/v1/files') && firstChunk.resolve?.() };
  const stubs = [
    [stubServer('app1', hooks), ports.app1, '127.0.0.1'],
    [stubServer('app2', hooks), ports.app2, '127.0.0.2'],
    [stubServer('minio', hooks), ports.minio, '127.0.0.3'],
  ];
  await Promise.all(stubs.map(([s, p, h]) => new Promise((r) => s.listen(p, h, r))));

  const { dir, confPath } = makeCopy({ behaviour: true, ports });
  const nginx = spawn('nginx', ['-c', confPath, '-g', `daemon off; pid ${path.join(dir, 'nginx.pid')};`], { stdio: ['ignore', 'pipe', 'pipe'] });
  let nginxOutput = '';
  nginx.stdout.on('data', (d) => (nginxOutput += d));
  nginx.stderr.on('data', (d) => (nginxOutput += d));
  const problems = [];
  const check = (ok, what) => {
    if (!ok) problems.push(what);
  };

  try {
    // wait for the listener
    for (let i = 0; ; i++) {
      try {
        await request(ports.http, { secure: false, pathName: '/nginx-health' });
        break;
      } catch (err) {
        if (i > 50 || nginx.exitCode !== null) throw new Error(`nginx did not start: ${err.message}\n${nginxOutput}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }

    // HTTP: redirect, ACME, local probe
    let r = await request(ports.http, { secure: false, pathName: '/u/123?x=1' });
    check(r.status === 301 && r.headers.location === 'https://tessera.test/u/123?x=1', `HTTP -> HTTPS redirect (got ${r.status} ${r.headers.location})`);
    r = await request(ports.http, { secure: false, pathName: '/.well-known/acme-challenge/token-1' });
    check(r.status === 200 && r.text === 'challenge-answer', `ACME challenge over HTTP (got ${r.status})`);
    r = await request(ports.http, { secure: false, pathName: '/nginx-health' });
    check(r.status === 200, `/nginx-health from loopback (got ${r.status})`);

    // Forwarded headers, request id, keepalive upstream, both instances used
    const seen = new Set();
    for (let i = 0; i < 6; i++) {
      r = await request(ports.https, { pathName: '/u/abc', headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': `req-${i}` } });
      if (r.json) seen.add(r.json.server);
    }
    const h = r.json?.headers ?? {};
    check(r.status === 200, `GET / proxied (got ${r.status})`);
    check(h['x-forwarded-for'] === '203.0.113.9, 127.0.0.1', `X-Forwarded-For appends the client address (got ${h['x-forwarded-for']})`);
    check(h['x-forwarded-proto'] === 'https', `X-Forwarded-Proto https (got ${h['x-forwarded-proto']})`);
    check(h['x-forwarded-host'] === 'tessera.test' && h.host === 'tessera.test', `Host and X-Forwarded-Host passed (got ${h.host}, ${h['x-forwarded-host']})`);
    check(h['x-real-ip'] === '127.0.0.1', `X-Real-IP (got ${h['x-real-ip']})`);
    check(h['x-request-id'] === 'req-5', `a valid X-Request-Id passes through (got ${h['x-request-id']})`);
    check(!h.upgrade && (!h.connection || h.connection === 'keep-alive'), `no Upgrade/Connection on ordinary requests (got ${h.upgrade}, ${h.connection})`);
    check(seen.has('app1') && seen.has('app2'), `both instances receive requests (saw ${[...seen].join(', ')})`);
    r = await request(ports.https, { pathName: '/u/abc', headers: { 'x-request-id': 'not valid"{}' } });
    check(/^[0-9a-f]{32}$/.test(r.json?.headers['x-request-id'] ?? ''), `an unusable X-Request-Id is replaced by nginx's $request_id (got ${r.json?.headers['x-request-id']})`);

    // Security headers: added when the app sends none, never doubled
    r = await request(ports.https, { pathName: '/plain' });
    check(r.headers['strict-transport-security'] === 'max-age=31536000; includeSubDomains', 'HSTS added');
    check(r.headers['x-content-type-options'] === 'nosniff' && r.headers['x-frame-options'] === 'DENY' && r.headers['referrer-policy'] === 'no-referrer' && !!r.headers['content-security-policy'], 'nosniff, frame DENY, referrer policy and CSP added');
    r = await request(ports.https, { pathName: '/own-headers' });
    check(headerCount(r, 'x-frame-options') === 1 && r.headers['x-frame-options'] === 'SAMEORIGIN', `the app's X-Frame-Options kept, not doubled (got ${r.headers['x-frame-options']})`);
    check(headerCount(r, 'strict-transport-security') === 1 && r.headers['strict-transport-security'] === 'max-age=60', "the app's HSTS kept, not doubled");
    check(r.headers['x-content-type-options'] === 'nosniff', 'missing headers still added next to the app\'s own');

    // Body limits
    r = await request(ports.https, { method: 'POST', pathName: '/api/v1/auth/register', headers: { 'content-type': 'application/json', 'content-length': String(3 * 1024 * 1024) }, body: (req) => req.end(Buffer.alloc(3 * 1024 * 1024)) });
    check(r.status === 413 && r.json?.code === 'payload_too_large' && /problem\+json/.test(r.headers['content-type'] ?? '') && !!r.headers['x-request-id'], `3 MB JSON body: 413 problem+json from nginx (got ${r.status} ${r.text.slice(0, 80)})`);
    r = await request(ports.https, { method: 'PUT', pathName: '/api/v1/users/me/avatar', headers: { 'content-length': String(5 * 1024 * 1024) }, body: Buffer.alloc(5 * 1024 * 1024) });
    check(r.status === 200 && r.json?.bytes === 5 * 1024 * 1024, `5 MB avatar passes (got ${r.status})`);
    r = await request(ports.https, { method: 'PUT', pathName: '/api/v1/users/me/avatar', headers: { 'content-length': String(7 * 1024 * 1024) }, body: (req) => req.end(Buffer.alloc(7 * 1024 * 1024)) });
    check(r.status === 413, `7 MB avatar refused (got ${r.status})`);
    r = await request(ports.https, { method: 'POST', pathName: '/api/v1/files', headers: { 'content-length': String(110 * 1000 * 1000) }, body: (req) => req.end(Buffer.alloc(1024)) });
    check(r.status === 413 && r.json?.code === 'payload_too_large', `110 MB upload refused from its Content-Length (got ${r.status})`);

    // Uploads stream: the app gets the first bytes while the client is still sending
    const streamed = await request(ports.https, {
      method: 'POST',
      pathName: '/api/v1/files',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(60 * 1024 * 1024) },
      body: (req) => {
        const first = new Promise((resolve) => (firstChunk.resolve = resolve));
        req.write(Buffer.alloc(1024 * 1024));
        const timeout = new Promise((resolve) => setTimeout(() => resolve('timeout'), 5000));
        Promise.race([first, timeout]).then((result) => {
          if (result === 'timeout') {
            problems.push('upload not streamed: the app saw no byte while the client was sending (proxy_request_buffering?)');
            req.destroy();
            return;
          }
          let left = 59;
          const more = () => {
            while (left > 0) {
              left--;
              if (!req.write(Buffer.alloc(1024 * 1024))) return req.once('drain', more);
            }
            req.end();
          };
          more();
        });
      },
    }).catch((err) => ({ status: 0, json: null, text: err.message }));
    check(streamed.status === 200 && streamed.json?.bytes === 60 * 1024 * 1024, `60 MB upload streamed through (got ${streamed.status} ${streamed.json?.bytes})`);

    // WebSocket upgrade on /api/v1/events
    const ws = await new Promise((resolve, reject) => {
      const socket = tls.connect({ host: '127.0.0.1', port: ports.https, rejectUnauthorized: false, servername: 'localhost', ALPNProtocols: ['http/1.1'] }, () => {
        socket.write(`GET /api/v1/events?ticket=t1 HTTP/1.1\r\nHost: tessera.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${crypto.randomBytes(16).toString('base64')}\r\n\r\n`);
      });
      let data = '';
      socket.on('data', (d) => (data += d));
      socket.on('end', () => resolve(data));
      socket.on('error', reject);
      setTimeout(() => {
        socket.destroy();
        resolve(data);
      }, 5000);
    });
    check(/^HTTP\/1\.1 101/.test(ws) && /hello from app\d; upgrade=websocket; connection=upgrade/i.test(ws), `WebSocket upgrade on /api/v1/events (got ${JSON.stringify(ws.slice(0, 120))})`);

    // Metrics: denied to addresses outside the allow list (127.0.0.0/8 dropped in this copy)
    r = await request(ports.https, { pathName: '/metrics' });
    check(r.status === 403, `/metrics denied outside the private ranges (got ${r.status})`);

    // Object store path: reads only; the Host the browser sent (a presigned URL's signature
    // covers it) and the query string (the signature itself) passed on
    r = await request(ports.https, { pathName: '/tessera/avatars/u1/abc-200.webp' });
    check(r.status === 200 && r.json?.server === 'minio' && r.json.headers.host === 'tessera.test', `bucket path proxied to the store with the client's Host (got ${r.status} ${r.json?.headers.host})`);
    const presigned = '/tessera/files/u1/f1?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature=abc123';
    r = await request(ports.https, { pathName: presigned, host: 'tessera.test:8443' });
    check(r.status === 200 && r.json?.url === presigned && r.json.headers.host === 'tessera.test:8443', `presigned download passed on whole, Host with its port (got ${r.status} ${r.json?.url} ${r.json?.headers.host})`);
    r = await request(ports.https, { method: 'PUT', pathName: '/tessera/avatars/u1/x', body: 'x' });
    check(r.status === 403, `bucket path refuses writes (got ${r.status})`);

    // Rate limits: sign-in 5/minute burst 5 -> the 7th at once is refused, as a problem
    const login = [];
    for (let i = 0; i < 7; i++) login.push(await request(ports.https, { method: 'POST', pathName: '/api/v1/auth/login', body: '{}' }));
    const refused = login.filter((x) => x.status === 429);
    check(login.slice(0, 6).every((x) => x.status === 200), `the first 6 sign-ins pass (got ${login.map((x) => x.status).join(',')})`);
    check(refused.length === 1 && refused[0].json?.code === 'rate_limited' && refused[0].headers['retry-after'] === '60' && /problem\+json/.test(refused[0].headers['content-type'] ?? ''), `the 7th sign-in is a 429 problem with Retry-After 60 (got ${refused[0]?.status} ${refused[0]?.headers['retry-after']})`);
    r = await request(ports.https, { method: 'POST', pathName: '/api/v1/auth/token', body: 'grant_type=password' });
    check(r.status === 429, `/auth/token shares the sign-in zone (got ${r.status})`);
    // API 100/minute burst 20
    const api = await Promise.all(Array.from({ length: 40 }, () => request(ports.https, { pathName: '/api/v1/users/me/profile' })));
    const apiRefused = api.filter((x) => x.status === 429);
    check(apiRefused.length >= 10 && apiRefused.every((x) => x.headers['retry-after'] === '1' && x.json?.code === 'rate_limited'), `a burst of 40 API calls meets the api zone (refused ${apiRefused.length})`);
    r = await request(ports.https, { pathName: '/health' });
    check(r.status === 200, `/health is not rate limited (got ${r.status})`);

    // Upstreams gone: nginx's own 502 becomes a 503 problem
    await Promise.all(stubs.slice(0, 2).map(([s]) => new Promise((res) => s.close(res))));
    r = await request(ports.https, { pathName: '/u/x' });
    check(r.status === 503 && r.json?.code === 'service_unavailable' && !!r.json.request_id, `no instance up: 503 problem+json (got ${r.status} ${r.text.slice(0, 80)})`);
  } finally {
    nginx.kill('SIGQUIT');
    await new Promise((r) => (nginx.exitCode !== null ? r() : nginx.once('exit', r)));
    for (const [s] of stubs) s.close();
    if (problems.length) {
      const errorLog = path.join(dir, 'error.log');
      console.error(`nginx error log:\n${fs.existsSync(errorLog) ? fs.readFileSync(errorLog, 'utf8').split('\n').slice(-20).join('\n') : '(none)'}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  if (problems.length) fail(`behaviour:\n  - ${problems.join('\n  - ')}`);
}

if (mode === 'syntax') syntax();
else if (mode === 'behaviour') await behaviour();
else fail('usage: nginx.mjs syntax|behaviour');
