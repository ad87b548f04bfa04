import type { FastifyRequest } from 'fastify';
import type { KeyValueStore, WindowHit } from '../../adapters/kv/kv-store.js';
import type { Config, RateRule } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';

export type RateLimitName = Exclude<keyof Config['rateLimit'], 'enabled' | 'headers'>;

/** Which successful answers carry RateLimit-* (setting RATE_LIMIT_HEADERS); a 429 always does. */
export type HeaderPolicy = Config['rateLimit']['headers'];

declare module 'fastify' {
  interface FastifyContextConfig {
    /** named limits (settings RATE_LIMIT_*) checked for this route, besides the API-wide one */
    rateLimit?: RateLimitName[];
    /** false: not counted against RATE_LIMIT_API (health, metrics, static files) */
    apiRateLimit?: boolean;
  }
  interface FastifyRequest {
    /** set once the caller is known: rate limits count per user when signed in */
    rateLimitSubject?: string;
  }
}

/** One limit a request counts against: its name (for headers, metrics, problems) and rule. */
export interface NamedRule {
  name: string;
  rule: RateRule;
}

export interface RateLimiter {
  /** counts one hit against the rule; throws a 429 AppError when over */
  check(name: string, rule: RateRule, subject: string, headersOut?: Record<string, string>): Promise<void>;
}

/** Where the RateLimit-* headers go: a reply, or a record (`headerRecord`). */
export interface HeaderSink {
  header(name: string, value: string): unknown;
}

export function headerRecord(record: Record<string, string>): HeaderSink {
  return { header: (name, value) => (record[name] = value) };
}

// A rule's limit and policy never change: their header texts are made once.
const ruleTexts = new WeakMap<RateRule, { limit: string; policy: string }>();
function textsOf(rule: RateRule): { limit: string; policy: string } {
  let texts = ruleTexts.get(rule);
  if (!texts) ruleTexts.set(rule, (texts = { limit: String(rule.max), policy: `${rule.max};w=${Math.round(rule.windowMs / 1000)}` }));
  return texts;
}

function writeHeaders(out: HeaderSink, rule: RateRule, count: number, resetSeconds: number): void {
  const texts = textsOf(rule);
  out.header('ratelimit-limit', texts.limit);
  out.header('ratelimit-remaining', String(Math.max(0, rule.max - count)));
  out.header('ratelimit-reset', String(resetSeconds));
  out.header('ratelimit-policy', texts.policy);
}

const resetSecondsOf = (hit: WindowHit) => Math.max(1, Math.ceil(hit.resetMs / 1000));

/**
 * Whether a successful answer shows this hit: always, or (`near`) once half the window's quota
 * is used, which is when a client pacing itself needs to know. Well inside a limit the answer
 * carries none: four headers on every answer cost each client and the server more than they
 * tell (docs/performance.md), and the peers Tessera replaces send them only on a refusal.
 */
function shows(policy: HeaderPolicy, rule: RateRule, count: number): boolean {
  return policy === 'always' || 2 * count >= rule.max;
}

/**
 * Decides a request's counted hits, one per limit in order: throws the 429 of the first limit
 * that is over (with its headers and Retry-After), else writes the headers of the most specific
 * limit the policy shows (the last one, under `always`).
 */
export function judgeHits(limits: readonly NamedRule[], hits: readonly WindowHit[], metrics: Metrics, out: HeaderSink, policy: HeaderPolicy): void {
  for (let i = 0; i < limits.length; i++) {
    const { name, rule } = limits[i]!;
    const hit = hits[i]!;
    if (hit.count > rule.max) {
      const resetSeconds = resetSecondsOf(hit);
      metrics.rateLimitHits.inc({ limit: name });
      const headers: Record<string, string> = {};
      writeHeaders(headerRecord(headers), rule, hit.count, resetSeconds);
      throw new AppError('rate_limited', {
        detail: `Limit of ${rule.text} reached for ${name}; retry in ${resetSeconds} s`,
        headers: { ...headers, 'retry-after': String(resetSeconds) },
        extra: { limit: name },
      });
    }
  }
  for (let i = limits.length - 1; i >= 0; i--) {
    const { rule } = limits[i]!;
    const hit = hits[i]!;
    if (shows(policy, rule, hit.count)) return writeHeaders(out, rule, hit.count, resetSecondsOf(hit));
  }
}

/** The key a limit counts in, for one subject. */
export function rateLimitKey(name: string, subject: string): string {
  return `rl:${name}:${subject}`;
}

/** For flows that count a hit on their own terms (the OAuth endpoints answer in RFC 6749 errors). */
export function createRateLimiter(kv: KeyValueStore, metrics: Metrics, settings: Pick<Config['rateLimit'], 'enabled' | 'headers'>): RateLimiter {
  return {
    async check(name, rule, subject, headersOut) {
      if (!settings.enabled) return;
      const hit = await kv.hit(rateLimitKey(name, subject), rule.windowMs, rule.max);
      judgeHits([{ name, rule }], [hit], metrics, headerRecord(headersOut ?? {}), settings.headers);
    },
  };
}

/** The subject a limit counts against: the signed-in user, else the client address. */
export function rateLimitSubject(request: FastifyRequest): string {
  return request.rateLimitSubject ? signedInSubject(request.rateLimitSubject) : `ip:${request.ip}`;
}

/** The subject of a signed-in caller: a user id, or `client:<id>` for a service token. */
export function signedInSubject(id: string): string {
  return `u:${id}`;
}
