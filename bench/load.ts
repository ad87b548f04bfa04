import autocannon from 'autocannon';
import { cpuMs } from './measure.js';

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
}

export interface LoadRequest {
  path: string;
  method?: 'GET' | 'POST';
  headers?: Record<string, string>;
  body?: string;
}

/** Loads one URL with autocannon from this (separate) process. */
export async function load(baseUrl: string, req: LoadRequest, seconds: number, connections = 10): Promise<LoadResult> {
  const result = await autocannon({
    url: baseUrl + req.path,
    method: req.method ?? 'GET',
    headers: req.headers ?? {},
    ...(req.body !== undefined ? { body: req.body } : {}),
    connections,
    pipelining: 1,
    duration: seconds,
  });
  return {
    rps: result.requests.average,
    p50: result.latency.p50,
    p99: result.latency.p99,
    non2xx: result.non2xx,
    errors: result.errors + result.timeouts,
  };
}

/** The run whose rate is the median of `runs` (the lower middle one for an even count). */
function medianRun(runs: LoadResult[]): LoadResult {
  return [...runs].sort((x, y) => x.rps - y.rps)[Math.floor((runs.length - 1) / 2)]!;
}

export interface CompareOptions {
  /** concurrent connections of each run (10) */
  connections?: number;
  /** adjacent pairs (6) */
  pairs?: number;
  /** seconds of each run (`seconds / 2`, at least 1) */
  each?: number;
  /** warm-up seconds of ours and of the yardstick before the pairs (1 and 1) */
  warm?: { ours: number; bare: number };
}

/**
 * The same load on ours and on the yardstick in adjacent pairs (A B, then B A, …: six pairs of
 * `seconds / 2` each, after a warm-up of each), and the ratio is the median of the pairs'
 * ratios. This VM's speed moves by up to 2× within a minute; a pair's two runs share the
 * moment, so its ratio does not (the better-of-two of earlier sessions compared moments).
 * Rates and latencies shown are each side's median run.
 */
export async function compare(ours: string, bare: string, req: LoadRequest, bareReq: LoadRequest, seconds: number, options: CompareOptions = {}) {
  const { connections = 10, pairs = 6, each = Math.max(1, seconds / 2), warm = { ours: 1, bare: 1 } } = options;
  await load(ours, req, warm.ours, connections);
  await load(bare, bareReq, warm.bare, connections);
  const a: LoadResult[] = [];
  const b: LoadResult[] = [];
  const ratios: number[] = [];
  for (let i = 0; i < pairs; i++) {
    let x: LoadResult;
    let y: LoadResult;
    if (i % 2 === 0) {
      x = await load(ours, req, each, connections);
      y = await load(bare, bareReq, each, connections);
    } else {
      y = await load(bare, bareReq, each, connections);
      x = await load(ours, req, each, connections);
    }
    a.push(x);
    b.push(y);
    ratios.push(x.rps / y.rps);
  }
  ratios.sort((p, q) => p - q);
  const mid = Math.floor(pairs / 2);
  const ratio = pairs % 2 ? ratios[mid]! : (ratios[mid - 1]! + ratios[mid]!) / 2;
  const oursNon2xx = a.reduce((n, r) => n + r.non2xx + r.errors, 0);
  return { ours: medianRun(a), bare: medianRun(b), ratio, ratios, oursNon2xx };
}

/** One server in `interleavedRounds`: its URL (and request) and the process whose CPU is counted. */
export interface RoundSide {
  name: string;
  url: string;
  headers?: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  /** concurrent connections (10) */
  connections?: number;
  pid: number;
}

/**
 * Each side loaded in turn, round after round, the order reversed every other round (A B C,
 * then C B A, …), after a 1 s warm-up round; per side, each round's req/s and the server
 * process's CPU µs per request (bench/ab.ts, bench/headers-cost.ts).
 */
export async function interleavedRounds(sides: readonly RoundSide[], rounds: number, seconds: number): Promise<{ rps: number[]; us: number[] }[]> {
  const runs = sides.map(() => ({ rps: [] as number[], us: [] as number[] }));
  for (let i = 0; i <= rounds; i++) {
    const order = sides.map((_, k) => k);
    if (i % 2 === 0) order.reverse();
    for (const k of order) {
      const side = sides[k]!;
      const cpu0 = cpuMs(side.pid);
      const r = await autocannon({
        url: side.url,
        method: side.method ?? 'GET',
        headers: side.headers ?? {},
        ...(side.body !== undefined ? { body: side.body } : {}),
        connections: side.connections ?? 10,
        duration: i === 0 ? 1 : seconds,
      });
      if (r.non2xx) console.log(`${side.name}: ${r.non2xx} non-2xx answers`);
      if (i === 0) continue; // warm-up
      runs[k]!.rps.push(r.requests.average);
      runs[k]!.us.push(((cpuMs(side.pid) - cpu0) * 1000) / r.requests.total);
    }
  }
  return runs;
}
