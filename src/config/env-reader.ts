/**
 * Reads typed values out of an environment map and collects every problem instead
 * of stopping at the first one, so a bad deployment hears about all of them at once.
 */
export type Env = Readonly<Record<string, string | undefined>>;

export interface RateRule {
  /** requests allowed per window */
  max: number;
  windowMs: number;
  /** the setting as written, e.g. "5/minute" */
  text: string;
}

const UNIT_MS = { second: 1_000, minute: 60_000, hour: 3_600_000, day: 86_400_000 } as const;
type Unit = keyof typeof UNIT_MS;

export function parseRate(text: string, bareUnit?: Unit): RateRule | null {
  const t = text.trim().toLowerCase();
  const bare = /^(\d+)$/.exec(t);
  if (bare && bareUnit) {
    const max = Number(bare[1]);
    return max > 0 ? { max, windowMs: UNIT_MS[bareUnit], text: `${max}/${bareUnit}` } : null;
  }
  const m = /^(\d+)\s*(?:\/|per)\s*(second|minute|hour|day)s?$/.exec(t);
  if (!m) return null;
  const max = Number(m[1]);
  if (!(max > 0)) return null;
  const unit = m[2] as Unit;
  return { max, windowMs: UNIT_MS[unit], text: `${max}/${unit}` };
}

export class EnvReader {
  readonly problems: string[] = [];
  /** every variable name this reader was asked for: `.env.example` must list them all */
  readonly names = new Set<string>();

  constructor(private readonly env: Env) {}

  /** The first non-empty value among the name and its aliases (the seeds' spellings). */
  raw(name: string, aliases: string[] = []): string | undefined {
    this.names.add(name);
    for (const n of [name, ...aliases]) {
      const v = this.env[n];
      if (v !== undefined && v.trim() !== '') return v.trim();
    }
    return undefined;
  }

  has(name: string, aliases: string[] = []): boolean {
    return this.raw(name, aliases) !== undefined;
  }

  problem(name: string, message: string): void {
    this.problems.push(`${name}: ${message}`);
  }

  str(name: string, fallback: string, aliases: string[] = []): string {
    return this.raw(name, aliases) ?? fallback;
  }

  optional(name: string, aliases: string[] = []): string | null {
    return this.raw(name, aliases) ?? null;
  }

  int(name: string, fallback: number, opts: { min?: number; max?: number; aliases?: string[] } = {}): number {
    const v = this.raw(name, opts.aliases);
    if (v === undefined) return fallback;
    if (!/^-?\d+$/.test(v)) {
      this.problem(name, `must be a whole number, got "${clip(v)}"`);
      return fallback;
    }
    const n = Number(v);
    if (opts.min !== undefined && n < opts.min) {
      this.problem(name, `must be at least ${opts.min}, got ${n}`);
      return fallback;
    }
    if (opts.max !== undefined && n > opts.max) {
      this.problem(name, `must be at most ${opts.max}, got ${n}`);
      return fallback;
    }
    return n;
  }

  bool(name: string, fallback: boolean, aliases: string[] = []): boolean {
    const v = this.raw(name, aliases);
    if (v === undefined) return fallback;
    const t = v.toLowerCase();
    if (['true', '1', 'yes', 'on'].includes(t)) return true;
    if (['false', '0', 'no', 'off'].includes(t)) return false;
    this.problem(name, `must be true or false, got "${clip(v)}"`);
    return fallback;
  }

  oneOf<T extends string>(name: string, values: readonly T[], fallback: T, aliases: string[] = []): T {
    const v = this.raw(name, aliases);
    if (v === undefined) return fallback;
    const found = values.find((x) => x.toLowerCase() === v.toLowerCase());
    if (!found) {
      this.problem(name, `must be one of ${values.join(', ')}, got "${clip(v)}"`);
      return fallback;
    }
    return found;
  }

  /** Comma-separated, or a JSON array as seed 004 writes ALLOWED_ORIGINS. */
  list(name: string, fallback: string[], aliases: string[] = []): string[] {
    const v = this.raw(name, aliases);
    if (v === undefined) return fallback;
    if (v.startsWith('[')) {
      try {
        const parsed: unknown = JSON.parse(v);
        if (Array.isArray(parsed) && parsed.every((x) => typeof x === 'string')) {
          return parsed.map((x: string) => x.trim()).filter(Boolean);
        }
      } catch {
        // fall through to the problem below
      }
      this.problem(name, 'must be a comma-separated list or a JSON array of strings');
      return fallback;
    }
    return v.split(',').map((x) => x.trim()).filter(Boolean);
  }

  rate(name: string, fallback: RateRule, bareUnit?: Unit): RateRule {
    const v = this.raw(name);
    if (v === undefined) return fallback;
    const rule = parseRate(v, bareUnit);
    if (!rule) {
      this.problem(
        name,
        bareUnit
          ? `must be a positive number (per ${bareUnit}) or N/second|minute|hour|day, got "${clip(v)}"`
          : `must look like N/second|minute|hour|day, got "${clip(v)}"`,
      );
      return fallback;
    }
    return rule;
  }

  url(name: string, fallback: string | null, protocols: string[], aliases: string[] = []): string | null {
    const v = this.raw(name, aliases);
    if (v === undefined) return fallback;
    try {
      const u = new URL(v);
      if (!protocols.includes(u.protocol)) {
        this.problem(name, `must be a ${protocols.join(' or ')} URL`);
        return fallback;
      }
      return v;
    } catch {
      this.problem(name, 'must be a valid URL');
      return fallback;
    }
  }
}

export function rate(text: string, bareUnit?: Unit): RateRule {
  const r = parseRate(text, bareUnit);
  if (!r) throw new Error(`bad built-in rate ${text}`);
  return r;
}

function clip(v: string): string {
  return v.length > 60 ? `${v.slice(0, 57)}...` : v;
}
