import { timingSafeEqual } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import ipaddr from 'ipaddr.js';
import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
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

export function registerMetrics(app: FastifyInstance, metrics: Metrics, config: Readonly<Config>): void {
  // One labelled child per (method, route template, status), looked up once: the hot path then
  // costs a map lookup, not prom-client's label hashing twice per request.
  const children = new Map<string, { count: { inc(): void }; duration: { observe(v: number): void } }>();
  app.addHook('onResponse', (request, reply, done) => {
    // Route templates, never raw URLs: unknown paths share one label so scanners cannot blow up cardinality.
    const route = request.routeOptions.url ?? '__unmatched__';
    const key = `${request.method} ${route} ${reply.statusCode}`;
    let child = children.get(key);
    if (!child) {
      const labels = { method: request.method, route, status: String(reply.statusCode) };
      child = { count: metrics.httpRequests.labels(labels), duration: metrics.httpDuration.labels(labels) };
      children.set(key, child);
    }
    child.count.inc();
    child.duration.observe(reply.elapsedTime / 1000);
    done();
  });

  if (!config.metrics.enabled) return;
  app.get(config.metrics.path, { schema: { hide: true }, config: { apiRateLimit: false } }, async (request, reply) => {
    const token = config.metrics.token;
    const allowed = (token !== null && tokenMatches(request.headers.authorization, token)) || addressAllowed(request.ip, config.metrics.allow);
    if (!allowed) throw new AppError('metrics_forbidden', { detail: 'Allowed from METRICS_ALLOW ranges or with METRICS_TOKEN' });
    reply.header('cache-control', 'no-store');
    return reply.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}
