import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { RequestSeries } from '../../http-request-metrics.js';
import type { Metrics } from '../../metrics.js';

export function addressAllowed(ip: string, cidrs: readonly string[]): boolean {
  let addr: ipaddr.IPv4 | ipaddr.IPv6;
  try {
    addr = ipaddr.process(ip); // IPv4-mapped IPv6 (::ffff:10.0.0.1) becomes IPv4
  } catch {
    return false;
  }
  return cidrs.some((c) => {
    try {
      const range = c.includes('/') ? ipaddr.parseCIDR(c) : ipaddr.parseCIDR(`${c}/${ipaddr.parse(c).kind() === 'ipv4' ? 32 : 128}`);
      return addr.kind() === range[0].kind() && addr.match(range);
    } catch {
      return false;
    }
  });
}

function tokenMatches(header: string | undefined, token: string): boolean {
  if (!header?.startsWith('Bearer ')) return false;
  const given = Buffer.from(header.slice(7));
  const want = Buffer.from(token);
  return given.length === want.length && timingSafeEqual(given, want);
}

/**
 * Request count and latency by method, route template and status: each route gets its own
 * onResponse hook (added when it is registered, knowing its template) holding its series by
 * status, so a request costs a lookup and two additions (http-request-metrics.ts). Unmatched
 * requests share one label (`__unmatched__`), so scanners cannot blow up cardinality.
 * Returns the listener for them.
 */
export function registerMetrics(app: FastifyInstance, metrics: Metrics): (request: FastifyRequest, reply: FastifyReply) => void {
  const { http } = metrics;
  const record = (series: Map<string, RequestSeries>, method: string, route: string, status: number, seconds: number) => {
    const key = method + status;
    let s = series.get(key);
    if (!s) {
      s = http.series(method, route, status);
      series.set(key, s);
    }
    http.observe(s, seconds);
  };

  app.addHook('onRoute', (route) => {
    const template = route.url;
    const series = new Map<string, RequestSeries>();
    const hook = (request: FastifyRequest, reply: FastifyReply, done: () => void) => {
      record(series, request.method, template, reply.statusCode, reply.elapsedTime / 1000);
      done();
    };
    const existing = route.onResponse === undefined ? [] : Array.isArray(route.onResponse) ? route.onResponse : [route.onResponse];
    route.onResponse = [...existing, hook] as typeof route.onResponse;
  });

  const unmatched = new Map<string, RequestSeries>();
  return (request, reply) => {
    reply.raw.once('finish', () => record(unmatched, request.method, '__unmatched__', reply.statusCode, reply.elapsedTime / 1000));
  };
}

/** GET METRICS_PATH: Prometheus text, from METRICS_ALLOW ranges or with METRICS_TOKEN; 404 when disabled. */
export function metricsRoute(app: FastifyInstance, metrics: Metrics, config: Readonly<Config>): void {
  if (!config.metrics.enabled) return;
  app.get(config.metrics.path, { schema: { hide: true }, config: { apiRateLimit: false } }, async (request, reply) => {
    const token = config.metrics.token;
    const allowed = (token !== null && tokenMatches(request.headers.authorization, token)) || addressAllowed(request.ip, config.metrics.allow);
    if (!allowed) throw new AppError('metrics_forbidden', { detail: 'Allowed from METRICS_ALLOW ranges or with METRICS_TOKEN' });
    reply.header('cache-control', 'no-store');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
