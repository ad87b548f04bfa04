/**
 * Child process: peak RSS of processing one avatar. Loads everything and processes a small
 * image first (libvips, its threads and caches are what a running server already has), resets
 * the kernel's peak-RSS counter, then processes the JPEG once and reports VmHWM.
 *   node --import tsx bench/avatar-rss.ts <jpeg path> tessera|sharp
 */
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';
import { processAvatar } from '../src/modules/avatars/avatar-processor.js';
import { AVATAR_OPTIONS, sharpAlone } from './avatar-pipelines.js';
import { hwmKb, rssKb } from './measure.js';

const [file, mode] = process.argv.slice(2);
const run = mode === 'sharp' ? (b: Buffer) => sharpAlone(b) : (b: Buffer) => processAvatar(b, AVATAR_OPTIONS);
const small = await sharp({ create: { width: 1200, height: 900, channels: 3, background: '#8af' } }).jpeg().toBuffer();
await run(small);
await run(small);
const input = readFileSync(file!);
await new Promise((r) => setTimeout(r, 100));

let reset = true;
try {
  writeFileSync('/proc/self/clear_refs', '5'); // resets VmHWM to the current RSS (Linux ≥ 4.0)
} catch {
  reset = false;
}
const baseKb = rssKb('self');
let sampledKb = baseKb;
const timer = setInterval(() => (sampledKb = Math.max(sampledKb, rssKb('self'))), 5);
await run(input);
clearInterval(timer);
const peakKb = reset ? Math.max(hwmKb('self'), sampledKb) : sampledKb;
process.send?.({ baseKb, peakKb, hwmReset: reset });
