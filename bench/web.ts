/**
 * The web app's figures (issue 8), in the table format of `npm run bench`:
 *   - JavaScript shipped to the first page (the sign-in page): every script Chromium loads for
 *     it, gzip -9 (the goal: ≤ 150 KB), and the bytes actually transferred (the server sends the
 *     pre-compressed brotli files);
 *   - time to interactive of the sign-in page in headless Chromium: navigation start to the
 *     `tessera:interactive` mark (React has committed the page with its handlers), cold loads
 *     (a new browser context each: empty cache), median and p90.
 *
 *   node --import tsx bench/web.ts [--runs N]   (starts its own `tessera serve` from dist/)
 *   import { benchWeb } from './web.js'          (rows for a running server)
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { chromiumAvailable, CHROMIUM_PATH, launchChromium } from '../test/helpers/browser.js';
import { removeDir, ROOT, startTessera } from './servers.js';

const GOAL_KB = 150;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? Number.NaN;
}

const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;

export interface WebFigures {
  scripts: number;
  rawBytes: number;
  gzipBytes: number;
  transferredBytes: number;
  cssGzipBytes: number;
  tti: { median: number; p90: number; min: number; runs: number };
  fcpMedian: number;
}

export async function measureWeb(baseUrl: string, runs = 10): Promise<WebFigures> {
  const browser = await launchChromium();
  try {
    // What the first page loads: from a cold load, every script and stylesheet response.
    const context = await browser.newContext();
    const page = await context.newPage();
    const scripts = new Map<string, number>();
    const styles = new Set<string>();
    page.on('requestfinished', (request) => {
      const type = request.resourceType();
      if (type === 'script') {
        void request.sizes().then((s) => scripts.set(request.url(), s.responseBodySize));
      } else if (type === 'stylesheet') {
        styles.add(request.url());
      }
    });
    await page.goto(`${baseUrl}/login`, { waitUntil: 'networkidle' });
    await context.close();

    let rawBytes = 0;
    let gzipBytes = 0;
    for (const url of scripts.keys()) {
      const body = Buffer.from(await (await fetch(url, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
      rawBytes += body.length;
      gzipBytes += gzipSync(body, { level: 9 }).length;
    }
    let cssGzipBytes = 0;
    for (const url of styles) {
      const body = Buffer.from(await (await fetch(url, { headers: { 'accept-encoding': 'identity' } })).arrayBuffer());
      cssGzipBytes += gzipSync(body, { level: 9 }).length;
    }
    const transferredBytes = [...scripts.values()].reduce((a, b) => a + b, 0);

    // Time to interactive: cold loads, one fresh context each.
    const times: number[] = [];
    const fcps: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const c = await browser.newContext();
      const p = await c.newPage();
      await p.goto(`${baseUrl}/login`);
      await p.waitForFunction('performance.getEntriesByName("tessera:interactive").length > 0');
      const tti = (await p.evaluate('performance.getEntriesByName("tessera:interactive")[0].startTime')) as number;
      // The paint entry is queued after the frame that painted, which can come after the
      // interactive mark: wait for it (buffered observer), up to 2 s.
      const fcp = (await p.evaluate(`new Promise((resolve) => {
        const seen = () => performance.getEntriesByName('first-contentful-paint')[0];
        if (seen()) return resolve(seen().startTime);
        new PerformanceObserver(() => seen() && resolve(seen().startTime)).observe({ type: 'paint', buffered: true });
        setTimeout(() => resolve(Number.NaN), 2000);
      })`)) as number;
      await c.close();
      if (i === 0) continue; // the first load warms the server and Chromium's own caches
      times.push(tti);
      fcps.push(fcp);
    }
    times.sort((a, b) => a - b);
    fcps.sort((a, b) => a - b);
    return {
      scripts: scripts.size,
      rawBytes,
      gzipBytes,
      transferredBytes,
      cssGzipBytes,
      tti: { median: percentile(times, 50), p90: percentile(times, 90), min: times[0] ?? Number.NaN, runs },
      fcpMedian: percentile(fcps, 50),
    };
  } finally {
    await browser.close();
  }
}

/** Rows for the `npm run bench` table: | backend | figure | Tessera | bare Fastify | ratio | goal | latency | */
export async function benchWeb(baseUrl: string, backend = 'embedded', runs = 10): Promise<string[]> {
  if (!chromiumAvailable()) return [`| ${backend} | web app figures | skipped: no Chromium at ${CHROMIUM_PATH} | | | | |`];
  const f = await measureWeb(baseUrl, runs);
  const ok = f.gzipBytes <= GOAL_KB * 1024;
  return [
    `| ${backend} | web: JS shipped to the sign-in page (gzip -9) | ${kb(f.gzipBytes)} | | | ≤ ${GOAL_KB} KB ${ok ? '✓' : '✗'} | ${f.scripts} scripts, ${kb(f.rawBytes)} minified, ${kb(f.transferredBytes)} sent (brotli); CSS ${kb(f.cssGzipBytes)} gzip |`,
    `| ${backend} | web: time to interactive, sign-in page (headless Chromium, cold load) | ${f.tti.median.toFixed(0)} ms | | | | median of ${f.tti.runs}; p90 ${f.tti.p90.toFixed(0)} ms, min ${f.tti.min.toFixed(0)} ms; first contentful paint ${f.fcpMedian.toFixed(0)} ms |`,
  ];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '10' } } });
  if (!existsSync(path.join(ROOT, 'dist/main.js'))) {
    console.error('bench/web: dist/ is missing; run `npm run build` first');
    process.exit(1);
  }
  // The web app as the source is now (a no-op when dist/web is up to date).
  execFileSync(process.execPath, [path.join(ROOT, 'scripts/build-web.mjs')], { stdio: 'inherit' });
  const tessera = await startTessera({ LOG_LEVEL: 'warn' });
  try {
    console.log('| backend | figure | Tessera | bare Fastify | ratio | goal | latency |');
    console.log('| --- | --- | --- | --- | --- | --- | --- |');
    for (const row of await benchWeb(tessera.url, 'embedded', Number(values.runs))) console.log(row);
  } finally {
    await tessera.stop();
    removeDir(tessera.dataDir);
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  await main();
}

