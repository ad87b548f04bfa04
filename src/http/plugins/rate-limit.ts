import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { Config, RateRule } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { Metrics } from '../../metrics.js';

export type RateLimitName = Exclude<keyof Config['rateLimit'], 'enabled'>;

declare module 'fastify' {
  interface FastifyContextConfig {
    /** named limits (settings RATE_LIMIT_*) checked for this route, besides the API-wide one */
    rateLimit?: RateLimitName[];
    /** false: not counted against RATE_LIMIT_API (health, metrics, static files) */
    apiRateLimit?: boolean;
  }
  interface FastifyRequest {
    /** set by the auth guard: rate limits count per user when signed in */
    rateLimitSubject?: string;
  }
}

export interface RateLimiter {
  /** counts one hit against the rule; throws a 429 AppError when over */
  check(name: string, rule: RateRule, subject: string, headersOut?: Record<string, string>): Promise<void>;
}

export function createRateLimiter(kv: KeyValueStore, metrics: Metrics, enabled: boolean): RateLimiter {
  return {
    async check(name, rule, subject, headersOut) {
      if (!enabled) return;
      const { count, resetMs } = await kv.hit(`rl:${name}:${subject}`, rule.windowMs);
      const resetSeconds = Math.max(1, Math.ceil(resetMs / 1000));
      const headers = {
        'ratelimit-limit': String(rule.max),
        'ratelimit-remaining': String(Math.max(0, rule.max - count)),
        'ratelimit-reset': String(resetSeconds),
        'ratelimit-policy': `${rule.max};w=${Math.round(rule.windowMs / 1000)}`,
      };
      if (count > rule.max) {
        metrics.rateLimitHits.inc({ limit: name });
        throw new AppError('rate_limited', {
          detail: `Limit of ${rule.text} reached for ${name}; retry in ${resetSeconds} s`,
          headers: { ...headers, 'retry-after': String(resetSeconds) },
          extra: { limit: name },
        });
      }
      if (headersOut) Object.assign(headersOut, headers);
    },
  };
}

/** The subject a limit counts against: the signed-in user, else the client address. */
export function rateLimitSubject(request: FastifyRequest): string {
  return request.rateLimitSubject ? `u:${request.rateLimitSubject}` : `ip:${request.ip}`;
}

/**
 * Every route under the API prefix counts against RATE_LIMIT_API, and its own named limits.
 * Runs as a preHandler, after authentication, so signed-in users are counted by id.
 */
export function registerRateLimits(app: FastifyInstance, limiter: RateLimiter, config: Readonly<Config>): void {
  const check = async (request: FastifyRequest, names: RateLimitName[], apiWide: boolean): Promise<Record<string, string>> => {
    const subject = rateLimitSubject(request);
    const headers: Record<string, string> = {};
    if (apiWide) await limiter.check('api', config.rateLimit.api, subject, headers);
    // The most specific limit decides the headers the client sees.
    for (const name of names) await limiter.check(name, config.rateLimit[name], subject, headers);
    return headers;
  };
  app.addHook('preHandler', (request, reply, done) => {
    const routeConfig = request.routeOptions.config;
    const names = routeConfig?.rateLimit ?? [];
    const apiWide = routeConfig?.apiRateLimit !== false && (request.routeOptions.url ?? '').startsWith(config.server.apiPrefix);
    // Nothing to count (health, metrics, static files): no promise, no store round trip.
    if ((!apiWide && names.length === 0) || !config.rateLimit.enabled) return done();
    check(request, names, apiWide).then(
      (headers) => {
        reply.headers(headers);
        done();
      },
      (err: Error) => done(err),
    );
  });
}
