import client from 'prom-client';
import type { PoolStats } from './db/database.js';

/** Every Prometheus metric, in one registry per container (two apps in one process stay apart). */
export function createMetrics(sources: { poolStats: () => PoolStats }) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  const httpRequests = new client.Counter({
    name: 'http_requests_total',
    help: 'HTTP requests by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const httpDuration = new client.Histogram({
    name: 'http_request_duration_seconds',
    help: 'HTTP request latency by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 5, 10],
    registers: [registry],
  });
  const rateLimitHits = new client.Counter({
    name: 'tessera_rate_limit_hits_total',
    help: 'Requests refused by a rate limit, by limit name',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  const dbPool = new client.Gauge({
    name: 'tessera_db_pool_connections',
    help: 'Database pool connections by state (total, idle, waiting, max)',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = sources.poolStats();
      for (const state of ['total', 'idle', 'waiting', 'max'] as const) this.set({ state }, s[state]);
    },
  });
  const dependencyUp = new client.Gauge({
    name: 'tessera_dependency_up',
    help: '1 when the last readiness check found the dependency up, 0 when down',
    labelNames: ['dependency'] as const,
    registers: [registry],
  });
  return { registry, httpRequests, httpDuration, rateLimitHits, dbPool, dependencyUp };
}

export type Metrics = ReturnType<typeof createMetrics>;
