import type { FastifyInstance, FastifyReply, FastifyRequest, onRequestHookHandler } from 'fastify';
import type { Exchange } from '../../adapters/kv/kv-store.js';
import type { Container } from '../../container.js';
import { AppError } from '../../errors/app-error.js';
import { unavailable, type PendingAuth, type Principal } from '../../modules/auth/authenticator.js';
import type { GuardMode } from './auth-guard.js';
import { judgeHits, rateLimitKey, rateLimitSubject, signedInSubject, type NamedRule } from './rate-limit.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /**
     * Keys the handler will read from the key-value store (a cached profile), fetched in the
     * request gate's round trip; `userId` is the signed-in user's, once the token is verified.
     */
    prefetch?: (request: FastifyRequest, userId: string | null) => string[];
  }
  interface FastifyRequest {
    /** the values of the route's `prefetch` keys, read by the request gate; null when not read */
    prefetched: ReadonlyMap<string, string | null> | null;
  }
}

const NONE: readonly never[] = [];
type Hit = { readonly key: string; readonly windowMs: number; readonly limit: number };
const GATE = Symbol('tessera.requestGate');

/**
 * The request gate: one key-value round trip per request, whatever the route needs from the
 * store. It is the last onRequest hook of each route that has a guard, a rate limit or keys to
 * prefetch (added when the route is registered; other routes don't run it at all), and in one
 * atomic exchange it
 *   - counts the request against RATE_LIMIT_API (every route under the API prefix unless
 *     `apiRateLimit: false`) and the route's named limits, per user when signed in;
 *   - reads the verified token's revocation entries and the cached user (auth-guard.ts);
 *   - reads the route's `prefetch` keys.
 * A revoked token is a 401 whatever the limits say; then the first limit over is a 429; a
 * store that cannot answer is a 503 (never an accepted token, never an uncounted request).
 */
export function registerRequestGate(app: FastifyInstance, container: Container, guards: ReadonlyMap<onRequestHookHandler, GuardMode>): void {
  const { config, kv, metrics } = container;
  const { authenticator, admin } = container.auth;
  app.decorateRequest('prefetched', null);

  function finish(request: FastifyRequest, reply: FastifyReply, principal: Principal | null, result: Exchange, limits: readonly NamedRule[], extra: readonly string[], mode: GuardMode | null): Promise<void> | undefined {
    request.auth = principal;
    if (limits.length) judgeHits(limits, result.hits, metrics, reply, config.rateLimit.headers);
    if (extra.length) {
      const offset = result.values.length - extra.length;
      request.prefetched = new Map(extra.map((key, i) => [key, result.values[offset + i] ?? null]));
    }
    if (mode === 'user' && principal?.kind !== 'user') throw new AppError('forbidden', { detail: 'This needs a user access token, not a service token' });
    if (mode === 'admin') return admin.requireAdmin(principal).then(() => undefined);
    return undefined;
  }

  function settle(request: FastifyRequest, reply: FastifyReply, pending: PendingAuth | null, result: Exchange, limits: readonly NamedRule[], extra: readonly string[], mode: GuardMode | null): Promise<void> | undefined {
    if (!pending) return finish(request, reply, null, result, limits, extra, mode);
    const principal = authenticator.complete(pending, result.values);
    if (principal) return finish(request, reply, principal, result, limits, extra, mode);
    // The store restarted empty: the revocation list is replayed before any token is trusted.
    return authenticator.reloadAndComplete(pending).then((p) => finish(request, reply, p, result, limits, extra, mode));
  }

  function gateFor(mode: GuardMode | null, limits: readonly NamedRule[], prefetch: ((request: FastifyRequest, userId: string | null) => string[]) | undefined) {
    const hitsFor = (subject: string) => limits.map((l) => ({ key: rateLimitKey(l.name, subject), windowMs: l.rule.windowMs, limit: l.rule.max }));
    // A signed-in caller's hits on this route are the same every time: built once per token.
    const signedInHits = new WeakMap<PendingAuth, readonly Hit[]>();
    const gate = function requestGate(request: FastifyRequest, reply: FastifyReply, done: (err?: Error) => void) {
      const pending = request.pendingAuth;
      let hits: readonly Hit[] = NONE;
      if (limits.length) {
        if (pending) {
          hits = signedInHits.get(pending) ?? NONE;
          if (hits === NONE) {
            const { claims } = pending;
            hits = hitsFor(signedInSubject(pending.service ? `client:${claims.client_id}` : claims.sub));
            signedInHits.set(pending, hits);
          }
        } else {
          hits = hitsFor(rateLimitSubject(request));
        }
      }
      const extra = prefetch ? prefetch(request, pending && !pending.service ? pending.claims.sub : null) : NONE;
      const keys = pending ? (extra.length ? pending.keys.concat(extra) : pending.keys) : extra;
      if (hits.length === 0 && keys.length === 0) return done();
      const answer = (result: Exchange) => {
        let settled: Promise<void> | undefined;
        try {
          settled = settle(request, reply, pending, result, limits, extra, mode);
        } catch (err) {
          return done(err as Error);
        }
        if (settled) settled.then(() => done(), done);
        else done();
      };
      const failed = (err: unknown) => {
        // Only prefetching: the handler reads (or falls back) on its own.
        if (!pending && hits.length === 0) return done();
        done(pending ? unavailable(err) : (err as Error));
      };
      // The embedded store answers in this tick, and Redis does when leased quota and local
      // copies cover the request: no promise, no microtask.
      if (kv.exchangeNow) {
        let result: Exchange | null;
        try {
          result = kv.exchangeNow(hits, keys);
        } catch (err) {
          return failed(err);
        }
        if (result) return answer(result);
      }
      kv.exchange(hits, keys).then(answer, failed);
    };
    return Object.assign(gate, { [GATE]: true }) as unknown as onRequestHookHandler;
  }

  app.addHook('onRoute', (route) => {
    const onRequest = route.onRequest === undefined ? [] : Array.isArray(route.onRequest) ? [...route.onRequest] : [route.onRequest];
    // A HEAD route copies its GET route's options, gate included.
    if (onRequest.some((h) => (h as unknown as Record<symbol, unknown>)[GATE])) return;
    let mode: GuardMode | null = null;
    for (const hook of onRequest) mode = guards.get(hook as onRequestHookHandler) ?? mode;
    const routeConfig = route.config ?? {};
    const limits: NamedRule[] = [];
    if (config.rateLimit.enabled) {
      if (routeConfig.apiRateLimit !== false && route.url.startsWith(config.server.apiPrefix)) limits.push({ name: 'api', rule: config.rateLimit.api });
      for (const name of routeConfig.rateLimit ?? []) limits.push({ name, rule: config.rateLimit[name] });
    }
    if (mode === null && limits.length === 0 && !routeConfig.prefetch) return;
    route.onRequest = [...onRequest, gateFor(mode, limits, routeConfig.prefetch)] as typeof route.onRequest;
  });
}
