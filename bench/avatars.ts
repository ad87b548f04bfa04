/**
 * Issue 5's avatar figures, in the table format of `npm run bench`:
 *   - processing time: `processAvatar` (src/modules/avatars) vs sharp alone doing the same work
 *     on the same 12-megapixel JPEG, in this process, interleaved (A B, B A…), medians;
 *   - peak RSS of a process while it processes one (a child each for Tessera and for sharp alone);
 *   - the whole `PUT /api/v1/users/me/avatar` (upload, processing, storage, row) vs processAvatar.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processAvatar } from '../src/modules/avatars/avatar-processor.js';
import { signUp } from './auth.js';
import { AVATAR_OPTIONS, photoLikeJpeg, sharpAlone, sharpTwoPipelines } from './avatar-pipelines.js';
import { atMost, fmt, jsonOk, median, sampleRss, type RowSink } from './measure.js';
import { removeDir, ROOT } from './servers.js';

const GOAL = 1.2;

async function timed(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now();
  await fn();
  return performance.now() - start;
}

/** `iterations` of each, alternating which goes first; one warm-up each. */
async function interleave(fns: Record<string, () => Promise<unknown>>, iterations: number): Promise<Record<string, number[]>> {
  const names = Object.keys(fns);
  const times: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, []]));
  for (const n of names) await fns[n]!();
  for (let i = 0; i < iterations; i++) {
    const order = i % 2 === 0 ? names : [...names].reverse();
    for (const n of order) times[n]!.push(await timed(fns[n]!));
  }
  return times;
}

function childPeak(file: string, mode: 'tessera' | 'sharp'): Promise<{ baseKb: number; peakKb: number; hwmReset: boolean }> {
  const child = fork(path.join(ROOT, 'bench/avatar-rss.ts'), [file, mode], {
    execArgv: ['--import', 'tsx'],
    env: { PATH: process.env.PATH ?? '' },
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
  });
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as { baseKb: number; peakKb: number; hwmReset: boolean }));
    child.once('exit', (code) => reject(new Error(`avatar-rss child exited ${code}`)));
  });
}

export async function benchAvatars(server: { url: string; pid: number } | null, row: RowSink, opts: { iterations?: number } = {}): Promise<void> {
  const iterations = opts.iterations ?? 10;
  const jpeg = await photoLikeJpeg();
  const dir = mkdtempSync(path.join(tmpdir(), 'tessera-bench-avatar-'));
  const file = path.join(dir, 'photo-4000x3000.jpg');
  writeFileSync(file, jpeg);
  const input = `4000×3000 JPEG, ${fmt(jpeg.length / 1024 / 1024, 1)} MB`;
  try {
    const t = await interleave(
      {
        tessera: () => processAvatar(jpeg, AVATAR_OPTIONS),
        sharp: () => sharpAlone(jpeg),
        twoPipelines: () => sharpTwoPipelines(jpeg),
      },
      iterations,
    );
    const ours = median(t.tessera!);
    const yard = median(t.sharp!);
    const two = median(t.twoPipelines!);
    row([
      'avatar processing time: processAvatar vs sharp alone (decode, rotate, 800² attention crop, 200² thumbnail, WebP q85)',
      `${fmt(ours)} ms`,
      `${fmt(yard)} ms`,
      `${fmt(ours / yard, 2)}×`,
      atMost(ours / yard, GOAL),
      `${input}; medians of ${iterations}, interleaved; sharp as two separate pipelines: ${fmt(two)} ms (${fmt(ours / two, 2)}×)`,
    ]);

    // Sequential: two children at once would share the two cores and each other's page cache.
    const a = await childPeak(file, 'tessera');
    const b = await childPeak(file, 'sharp');
    const mb = (kb: number) => kb / 1024;
    const growthA = mb(a.peakKb - a.baseKb);
    const growthB = mb(b.peakKb - b.baseKb);
    row([
      'avatar processing: peak RSS of a process processing one (growth over its warm idle RSS)',
      `${fmt(mb(a.peakKb))} MB (+${fmt(growthA)} MB)`,
      `${fmt(mb(b.peakKb))} MB (+${fmt(growthB)} MB)`,
      `${fmt(growthA / growthB, 2)}× growth`,
      '',
      `${input}; VmHWM${a.hwmReset ? ' reset before' : ' (sampled every 5 ms)'}; yardstick: sharp alone in its own process`,
    ]);

    if (server) await putVsProcess(server, jpeg, row, input);
  } finally {
    removeDir(dir);
  }
}

/** The whole PUT (client-side time) vs processAvatar alone in this process, interleaved. */
async function putVsProcess(server: { url: string; pid: number }, jpeg: Buffer, row: RowSink, input: string, iterations = 4): Promise<void> {
  const baseUrl = server.url;
  const account = await signUp(baseUrl);
  const put = async () => {
    const form = new FormData();
    form.append('file', new Blob([jpeg], { type: 'image/jpeg' }), 'photo.jpg');
    await jsonOk(await fetch(`${baseUrl}/api/v1/users/me/avatar`, { method: 'PUT', headers: { authorization: `Bearer ${account.accessToken}` }, body: form }));
  };
  const rss = sampleRss(server.pid);
  const t = await interleave({ put, process: () => processAvatar(jpeg, AVATAR_OPTIONS) }, iterations);
  const mem = rss.stop();
  const ours = median(t.put!);
  const yard = median(t.process!);
  row([
    'PUT /api/v1/users/me/avatar end to end vs processAvatar alone',
    `${fmt(ours)} ms`,
    `${fmt(yard)} ms`,
    `${fmt(ours / yard, 2)}×`,
    '',
    `${input}; medians of ${iterations}; server RSS +${fmt(mem.growthMb)} MB over ${fmt(mem.baseMb)} MB during the PUTs`,
  ]);
}
