/** Small helpers shared by the custom measurements (avatars, files, realtime). */
import { readFileSync } from 'node:fs';

/** One table row without its backend cell: figure, Tessera, yardstick, ratio, goal, notes. */
export type Cells = [figure: string, ours: string, yardstick: string, ratio: string, goal: string, notes: string];
export type RowSink = (cells: Cells) => void;

export function fmt(n: number, digits = 0): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits });
}

export function percentile(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return Number.NaN;
  // nearest rank
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))]!;
}

export const median = (values: readonly number[]) => percentile(values, 50);

/** "≥ 0.6 ✓" / "< 0.6 ✗" for a ratio that must reach `goal`. */
export function atLeast(value: number, goal: number, label = String(goal)): string {
  return value >= goal ? `≥ ${label} ✓` : `< ${label} ✗`;
}

/** "≤ 1.2 ✓" / "> 1.2 ✗" for a figure that must stay under `goal`. */
export function atMost(value: number, goal: number, label = String(goal)): string {
  return value <= goal ? `≤ ${label} ✓` : `> ${label} ✗`;
}

function statusKb(pid: number | 'self', field: 'VmRSS' | 'VmHWM'): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(new RegExp(`${field}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
}

/** Resident set size of a process in KiB (Linux). */
export const rssKb = (pid: number | 'self') => statusKb(pid, 'VmRSS');
/** Peak resident set size since start (or since the last reset) in KiB. */
export const hwmKb = (pid: number | 'self') => statusKb(pid, 'VmHWM');

/**
 * Samples a process's VmRSS every `everyMs` until stopped: the baseline (taken at once) and
 * the peak seen. Sampling runs on this process's event loop, so keep it free while sampling.
 */
export function sampleRss(pid: number, everyMs = 20) {
  const baseKb = rssKb(pid);
  let peakKb = baseKb;
  let samples = 1;
  const timer = setInterval(() => {
    try {
      peakKb = Math.max(peakKb, rssKb(pid));
      samples += 1;
    } catch {
      // the process is gone
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      try {
        peakKb = Math.max(peakKb, rssKb(pid));
      } catch {
        // gone
      }
      return { baseMb: baseKb / 1024, peakMb: peakKb / 1024, growthMb: (peakKb - baseKb) / 1024, samples };
    },
  };
}

export async function jsonOk<T = Record<string, unknown>>(res: Response): Promise<T> {
  const text = await res.text();
  if (!res.ok) throw new Error(`${res.status} ${text.slice(0, 500)}`);
  return JSON.parse(text) as T;
}

/** CPU time (user + system, all threads) a process has used so far, in ms (Linux, 100 Hz ticks). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // after the ")" closing the command name: state is field 3, utime 14, stime 15
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
