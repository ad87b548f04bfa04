/**
 * Issue 6's file figures, in the table format of `npm run bench`:
 *   - a 100 MB upload (`POST /api/v1/files`, multipart, streamed from a generator in this
 *     process: nothing is written to disk first): the server's peak RSS growth (VmRSS sampled
 *     every 20 ms) and its throughput vs a plain stream copy of the same bytes to the same
 *     backend — `stream.pipeline(generator, fs.createWriteStream)` on local disk, a plain
 *     `@aws-sdk/lib-storage` Upload to the same s3rver on S3 — interleaved A B A B;
 *   - download throughput of `GET /api/v1/files/:id/content` (local storage, a 20 MB file, a few
 *     concurrent clients) vs `@fastify/static` serving the same file from a bare Fastify child.
 */
import { S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { signUp } from './auth.js';
import { atLeast, atMost, cpuMs, fmt, jsonOk, sampleRss, type RowSink } from './measure.js';
import { freePort, removeDir, ROOT, startTessera, stopChild, type Running } from './servers.js';

const MIB = 1024 * 1024;
const UPLOAD_BYTES = 100 * MIB;
const DOWNLOAD_BYTES = 20 * MIB;
const CHUNK = 64 * 1024;
const BUCKET = 'tessera-bench';
const S3_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

/** What a server needs for these uploads, on top of the runner's environment. */
export const FILES_ENV = { MAX_FILE_SIZE: '200', USER_STORAGE_QUOTA_MB: '100000', RATE_LIMIT_FILE_DELETE: '1000000000/minute' };

// 1 MiB of noise (incompressible, like most large files), starting as a PDF so the type sniffed
// from the content is allowed; repeated as needed. Chunks are views: generating costs nothing.
const BLOCK = randomBytes(MIB);
BLOCK.write('%PDF-1.7\n%\xe2\xe3\xcf\xd3\n', 0, 'latin1');
const TAIL = randomBytes(MIB); // the rest of the file: no second "%PDF" header every MiB

function* fileBytes(total: number): Generator<Buffer> {
  for (let sent = 0; sent < total; ) {
    const inBlock = sent % MIB;
    const n = Math.min(CHUNK, total - sent, MIB - inBlock);
    yield (sent < MIB ? BLOCK : TAIL).subarray(inBlock, inBlock + n);
    sent += n;
  }
}

interface Multipart {
  boundary: string;
  length: number;
  body(): Generator<Buffer>;
}

function multipartFile(total: number, filename: string): Multipart {
  const boundary = `----tessera-bench-${randomBytes(12).toString('hex')}`;
  const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="${filename}"\r\nContent-Type: application/pdf\r\n\r\n`);
  const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
  return {
    boundary,
    length: head.length + total + tail.length,
    *body() {
      yield head;
      yield* fileBytes(total);
      yield tail;
    },
  };
}

/** POST /api/v1/files with the body streamed from the generator; the 201 body. */
async function uploadFile(baseUrl: string, token: string, total: number, filename = 'bench.pdf'): Promise<{ id: string; size: number }> {
  const form = multipartFile(total, filename);
  const url = new URL('/api/v1/files', baseUrl);
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = http.request(url, {
      method: 'POST',
      agent: false,
      headers: { authorization: `Bearer ${token}`, 'content-type': `multipart/form-data; boundary=${form.boundary}`, 'content-length': form.length },
    });
    req.on('response', (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', reject);
    });
    req.on('error', reject);
    pipeline(Readable.from(form.body()), req).catch(reject);
  });
  const { status, body } = await response;
  if (status !== 201) throw new Error(`upload: ${status} ${body.slice(0, 300)}`);
  return JSON.parse(body) as { id: string; size: number };
}

async function seconds(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return (performance.now() - start) / 1000;
}

interface UploadFigures {
  /** MB/s, best run of each */
  mbps: Record<string, number>;
  /** the largest peak-RSS growth of the server over the Tessera runs, each against its own baseline */
  growthMb: number;
  baseMb: number;
  /** the same during the warm-up (the first upload the server sees, 8 MB) */
  coldGrowthMb: number;
  /** server CPU time (all threads) per 100 MB upload, least of the runs */
  cpuMs: number;
}

/**
 * Tessera's upload and each yardstick, interleaved (A B C A B C), best run of each, after one
 * warm-up each. The server's RSS and CPU are watched during Tessera's runs.
 */
async function uploadVsYardsticks(server: { url: string; pid: number }, token: string, yardsticks: Record<string, () => Promise<unknown>>, rounds = 2): Promise<UploadFigures> {
  const cold = sampleRss(server.pid);
  await uploadFile(server.url, token, 8 * MIB);
  const coldGrowthMb = cold.stop().growthMb;
  for (const y of Object.values(yardsticks)) await y();
  const times: Record<string, number[]> = { tessera: [] };
  let growthMb = 0;
  let baseMb = 0;
  let cpu = Number.POSITIVE_INFINITY;
  for (let i = 0; i < rounds; i++) {
    const rss = sampleRss(server.pid);
    const cpuBefore = cpuMs(server.pid);
    times.tessera!.push(await seconds(() => uploadFile(server.url, token, UPLOAD_BYTES)));
    cpu = Math.min(cpu, cpuMs(server.pid) - cpuBefore);
    const mem = rss.stop();
    if (mem.growthMb >= growthMb) {
      growthMb = mem.growthMb;
      baseMb = mem.baseMb;
    }
    for (const [name, y] of Object.entries(yardsticks)) (times[name] ??= []).push(await seconds(y));
  }
  const mbps = Object.fromEntries(Object.entries(times).map(([k, s]) => [k, UPLOAD_BYTES / MIB / Math.min(...s)]));
  return { mbps, growthMb, baseMb, coldGrowthMb, cpuMs: cpu };
}

function uploadRows(row: RowSink, where: string, yardName: string, f: UploadFigures, notes: string): void {
  const ours = f.mbps.tessera!;
  const yard = f.mbps.yardstick!;
  const ratio = ours / yard;
  row([
    `100 MB upload (POST /api/v1/files, multipart, streamed), ${where}: throughput vs ${yardName}`,
    `${fmt(ours)} MB/s`,
    `${fmt(yard)} MB/s`,
    `${fmt(ratio, 2)}×`,
    atLeast(ratio, 0.6),
    `best of 2, interleaved; server CPU ${fmt(f.cpuMs)} ms per upload; ${notes}`,
  ]);
  row([
    `100 MB upload, ${where}: peak RSS growth of the server during the upload`,
    `+${fmt(f.growthMb, 1)} MB`,
    '',
    '',
    atMost(f.growthMb, 32, '32 MB'),
    `VmRSS every 20 ms, over ${fmt(f.baseMb)} MB before; worst of 2 uploads after an 8 MB warm-up (which grew it +${fmt(f.coldGrowthMb, 1)} MB)`,
  ]);
}

function startChild(script: string, env: Record<string, string>): Promise<{ child: ChildProcess; message: Record<string, unknown> }> {
  const child = fork(path.join(ROOT, script), [], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH ?? '', ...env },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (message) => resolve({ child, message: message as Record<string, unknown> }));
    child.once('exit', (c) => reject(new Error(`${script} exited ${c}`)));
  });
}

/**
 * Local storage: upload vs pipeline(generator, createWriteStream) into a folder beside DATA_DIR
 * (the issue's yardstick), and vs a bare node:http server piping the same body to a file (the
 * HTTP floor: what the hop from the client costs before Tessera does anything).
 */
export async function benchLocalUpload(tessera: Running, row: RowSink): Promise<void> {
  const account = await signUp(tessera.url);
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-bench-copy-'));
  const sinkPort = await freePort();
  const sink = await startChild('bench/sink-server.ts', { SINK_DIR: dir, SINK_PORT: String(sinkPort) });
  let n = 0;
  try {
    // The copies stay until the end (as Tessera's objects do): no unlink inside a timed run.
    const f = await uploadVsYardsticks(tessera, account.accessToken, {
      yardstick: () => pipeline(Readable.from(fileBytes(UPLOAD_BYTES)), createWriteStream(path.join(dir, `copy-${n++}.pdf`))),
      http: () => uploadFile(`http://127.0.0.1:${sinkPort}`, '', UPLOAD_BYTES),
    });
    const floor = f.mbps.http!;
    uploadRows(row, 'local storage', 'pipeline(generator, fs.createWriteStream)', f, `a bare node:http server piping the same body to a file: ${fmt(floor)} MB/s (Tessera ${fmt(f.mbps.tessera! / floor, 2)}× that)`);
  } finally {
    await stopChild(sink.child);
    removeDir(dir);
  }
}

/** S3: s3rver in a child process; Tessera with STORAGE_PROVIDER=s3 vs a plain lib-storage Upload. */
export async function benchS3Upload(env: Record<string, string>, row: RowSink): Promise<void> {
  // The SDK warns once per process that its 2027 releases will need Node 22: noise in the table.
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-bench-s3rver-'));
  const s3rver = await startChild('bench/s3rver-child.ts', { S3RVER_DIR: dir, S3RVER_BUCKET: BUCKET });
  const endpoint = `http://127.0.0.1:${String(s3rver.message.port)}`;
  let tessera: (Running & { dataDir: string }) | null = null;
  const client = new S3Client({
    region: 'us-east-1',
    endpoint,
    forcePathStyle: true,
    credentials: S3_CREDENTIALS,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
  try {
    tessera = await startTessera({
      ...env,
      STORAGE_PROVIDER: 's3',
      AWS_S3_BUCKET: BUCKET,
      AWS_S3_ENDPOINT: endpoint,
      AWS_S3_FORCE_PATH_STYLE: 'true',
      AWS_ACCESS_KEY_ID: S3_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3_CREDENTIALS.secretAccessKey,
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    });
    const account = await signUp(tessera.url);
    let n = 0;
    const copy = () =>
      new Upload({ client, params: { Bucket: BUCKET, Key: `yardstick/copy-${n++}`, Body: Readable.from(fileBytes(UPLOAD_BYTES)), ContentType: 'application/pdf' } }).done();
    const f = await uploadVsYardsticks(tessera, account.accessToken, { yardstick: copy });
    uploadRows(row, 'S3 (s3rver)', 'a plain lib-storage Upload to the same s3rver', f, 'yardstick with lib-storage defaults (5 MB parts, 4 in flight); s3rver in its own process');
  } finally {
    client.destroy();
    if (tessera) {
      await tessera.stop();
      removeDir(tessera.dataDir);
    }
    await stopChild(s3rver.child);
    removeDir(dir);
  }
}

/** Bytes per second of `connections` clients downloading `url` over and over for `secs`. */
async function downloadLoad(url: string, headers: Record<string, string>, secs: number, connections = 4): Promise<{ mbps: number; requests: number; failed: number }> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let bytes = 0;
  let requests = 0;
  let failed = 0;
  const start = performance.now();
  const deadline = start + secs * 1000;
  const one = () =>
    new Promise<void>((resolve, reject) => {
      http
        .get(url, { agent, headers }, (res) => {
          if (res.statusCode !== 200) failed += 1;
          res.on('data', (c: Buffer) => (bytes += c.length));
          res.on('end', () => {
            requests += 1;
            resolve();
          });
          res.on('error', reject);
        })
        .on('error', reject);
    });
  await Promise.all(
    Array.from({ length: connections }, async () => {
      while (performance.now() < deadline) await one();
    }),
  );
  const elapsed = (performance.now() - start) / 1000;
  agent.destroy();
  return { mbps: bytes / MIB / elapsed, requests, failed };
}

/** GET /api/v1/files/:id/content (local storage) vs @fastify/static serving the stored file. */
export async function benchDownload(tessera: Running & { dataDir: string }, secs: number, row: RowSink): Promise<void> {
  const account = await signUp(tessera.url);
  const auth = { authorization: `Bearer ${account.accessToken}` };
  const me = await jsonOk<{ id: string }>(await fetch(`${tessera.url}/api/v1/users/me/profile`, { headers: auth }));
  const file = await uploadFile(tessera.url, account.accessToken, DOWNLOAD_BYTES, 'download.pdf');
  // The local store keeps it at DATA_DIR/uploads/files/<user id>/<file id>: serve that very file.
  const folder = path.join(tessera.dataDir, 'uploads', 'files', me.id);
  const port = await freePort();
  const yard = await startChild('bench/static-server.ts', { STATIC_ROOT: folder, STATIC_PORT: String(port) });
  try {
    const ours = `${tessera.url}/api/v1/files/${file.id}/content`;
    const bare = `http://127.0.0.1:${port}/static/${file.id}`;
    const check = await fetch(bare);
    if (check.status !== 200 || Number(check.headers.get('content-length')) !== DOWNLOAD_BYTES) throw new Error(`static yardstick: ${check.status}`);
    await check.arrayBuffer();
    await downloadLoad(ours, auth, 1);
    await downloadLoad(bare, {}, 1);
    const a1 = await downloadLoad(ours, auth, secs);
    const b1 = await downloadLoad(bare, {}, secs);
    const a2 = await downloadLoad(ours, auth, secs);
    const b2 = await downloadLoad(bare, {}, secs);
    const a = a1.mbps >= a2.mbps ? a1 : a2;
    const b = b1.mbps >= b2.mbps ? b1 : b2;
    const ratio = a.mbps / b.mbps;
    const failed = a1.failed + a2.failed + b1.failed + b2.failed;
    row([
      'download GET /api/v1/files/:id/content (20 MB, local storage) vs @fastify/static serving the same file',
      `${fmt(a.mbps)} MB/s`,
      `${fmt(b.mbps)} MB/s`,
      `${fmt(ratio, 2)}×`,
      atLeast(ratio, 0.7),
      `4 clients, keep-alive, ${secs} s runs, best of 2 interleaved; ${a.requests} vs ${b.requests} downloads${failed ? `, ${failed} non-200!` : ''}`,
    ]);
  } finally {
    await stopChild(yard.child);
  }
}
