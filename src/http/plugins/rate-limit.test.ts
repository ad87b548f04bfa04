import { describe, expect, it } from 'vitest';
import type { WindowHit } from '../../adapters/kv/kv-store.js';
import { rate } from '../../config/env-reader.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';
import { headerRecord, judgeHits, type HeaderPolicy, type NamedRule } from './rate-limit.js';

const refused: string[] = [];
// judgeHits only counts refusals in the metrics
const metrics = { rateLimitHits: { inc: ({ limit }: { limit: string }) => refused.push(limit) } } as unknown as Metrics;
const limits: NamedRule[] = [
  { name: 'api', rule: rate('10/minute') },
  { name: 'login', rule: rate('4/minute') },
];
const hit = (count: number): WindowHit => ({ count, resetMs: 30_000 });

function judge(counts: [number, number], policy: HeaderPolicy): Record<string, string> {
  const headers: Record<string, string> = {};
  judgeHits(limits, counts.map(hit), metrics, headerRecord(headers), policy);
  return headers;
}

describe('judgeHits: which answers carry RateLimit-*', () => {
  it('near: none well inside every limit; the most specific limit at least half used otherwise', () => {
    expect(judge([1, 1], 'near')).toEqual({});
    // the login limit (more specific) is half used: its headers
    expect(judge([3, 2], 'near')).toEqual({ 'ratelimit-limit': '4', 'ratelimit-remaining': '2', 'ratelimit-reset': '30', 'ratelimit-policy': '4;w=60' });
    // only the API-wide limit is: its headers, not none
    expect(judge([6, 1], 'near')).toMatchObject({ 'ratelimit-limit': '10', 'ratelimit-remaining': '4' });
  });

  it('always: the most specific limit on every answer', () => {
    expect(judge([1, 1], 'always')).toMatchObject({ 'ratelimit-limit': '4', 'ratelimit-remaining': '3' });
  });

  it('a refusal carries the headers of the limit that refused, and Retry-After, whatever the policy', () => {
    let err: unknown;
    try {
      judge([11, 1], 'near');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(AppError);
    expect((err as AppError).headers).toMatchObject({ 'ratelimit-limit': '10', 'ratelimit-remaining': '0', 'retry-after': '30' });
    expect(refused).toEqual(['api']);
  });
});
