import client from 'prom-client';
import type { KeyValueStats } from './adapters/kv/kv-store.js';
import type { PoolStats } from './db/database.js';
import { HttpRequestMetrics } from './http-request-metrics.js';

/** Every Prometheus metric, in one registry per container (two apps in one process stay apart). */
export interface MetricSources {
  poolStats: () => PoolStats;
  /** bytes of user files stored, all users (read when scraped) */
  storageBytes?: () => Promise<number>;
  /** the readiness checks, run when scraped so alerts never depend on someone calling /ready */
  dependencies?: () => Promise<Record<string, 'ok' | 'down' | 'disabled'>>;
  /** the key-value store's counters (Redis: near cache and leased quota) */
  kvStats?: () => KeyValueStats | undefined;
}

export function createMetrics(sources: MetricSources) {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry, prefix: 'tessera_' });
  const http = new HttpRequestMetrics(registry);
  const rateLimitHits = new client.Counter({
    name: 'tessera_rate_limit_hits_total',
    help: 'Requests refused by a rate limit, by limit name',
    labelNames: ['limit'] as const,
    registers: [registry],
  });
  // Names the deploy helper's alert rules use: keep them exactly.
  const loginAttempts = new client.Counter({
    name: 'tessera_login_attempts_total',
    help: 'Password sign-in attempts by outcome (success, failure)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const lockouts = new client.Counter({
    name: 'tessera_lockouts_total',
    help: 'Accounts locked after MAX_LOGIN_ATTEMPTS failed sign-ins',
    registers: [registry],
  });
  const tokensIssued = new client.Counter({
    name: 'tessera_tokens_issued_total',
    help: 'Access tokens issued, by OAuth grant (password, refresh_token, client_credentials)',
    labelNames: ['grant'] as const,
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
  const retentionDeleted = new client.Counter({
    name: 'tessera_retention_deleted_rows_total',
    help: 'Rows deleted by retention, by table (refresh_tokens, sessions, email_tokens, service_token_revocations, audit_events)',
    labelNames: ['table'] as const,
    registers: [registry],
  });
  // Redis only: how often the request gate was answered without a round trip, and whether
  // local copies are usable now (0 for long means the invalidation channel is not current).
  const seen = { local: 0, redis: 0 };
  new client.Counter({
    name: 'tessera_kv_exchanges_total',
    help: "Request-gate exchanges with the key-value store by where they were answered (local: leased quota and near-cache copies; redis: a round trip)",
    labelNames: ['answered'] as const,
    registers: [registry],
    collect() {
      const s = sources.kvStats?.();
      if (!s) return;
      this.inc({ answered: 'local' }, s.exchangesLocal - seen.local);
      this.inc({ answered: 'redis' }, s.exchangesRemote - seen.redis);
      seen.local = s.exchangesLocal;
      seen.redis = s.exchangesRemote;
    },
  });
  new client.Gauge({
    name: 'tessera_kv_near_cache',
    help: 'Redis near cache: copies held (state="copies"), and 1 when they may be used now (state="current")',
    labelNames: ['state'] as const,
    registers: [registry],
    collect() {
      const s = sources.kvStats?.();
      if (!s) return;
      this.set({ state: 'copies' }, s.nearCopies);
      this.set({ state: 'current' }, s.nearCurrent ? 1 : 0);
    },
  });
  const dependencyUp = new client.Gauge({
    name: 'tessera_dependency_up',
    help: '1 when the dependency answered its readiness check at scrape time, 0 when down',
    labelNames: ['dependency'] as const,
    registers: [registry],
    async collect() {
      const states = await sources.dependencies?.();
      for (const [dependency, state] of Object.entries(states ?? {})) {
        if (state !== 'disabled') this.set({ dependency }, state === 'ok' ? 1 : 0);
      }
    },
  });
  // Realtime (issue 7): sockets held by this instance, events through the bus, relay lag.
  const wsConnections = new client.Gauge({
    name: 'tessera_ws_connections',
    help: 'Open WebSocket connections on this instance',
    registers: [registry],
  });
  const eventsPublished = new client.Counter({
    name: 'tessera_events_published_total',
    help: 'Domain events published by this instance, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const eventsDelivered = new client.Counter({
    name: 'tessera_events_delivered_total',
    help: 'Event messages sent to WebSocket clients by this instance, by type',
    labelNames: ['type'] as const,
    registers: [registry],
  });
  const pubsubLag = new client.Histogram({
    name: 'tessera_pubsub_lag_seconds',
    help: 'Time from an event happening (its `at`) to its delivery on this instance',
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [registry],
  });
  // Profiles (issue 5): avatar uploads by outcome and the time the image work takes.
  const avatarUploads = new client.Counter({
    name: 'tessera_avatar_uploads_total',
    help: 'Avatar uploads by outcome (success, or the error code that refused it)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const avatarProcessingSeconds = new client.Histogram({
    name: 'tessera_avatar_processing_seconds',
    help: 'Time to decode, crop and encode one avatar and its thumbnail',
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10],
    registers: [registry],
  });
  const fileUploads = new client.Counter({
    name: 'tessera_file_uploads_total',
    help: 'File uploads by outcome (created, too_large, quota_exceeded, type_not_allowed, aborted, storage_unavailable, rejected, failed)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const storageBytes = new client.Gauge({
    name: 'tessera_storage_bytes',
    help: 'Bytes of user files stored, all users (from the database, when scraped)',
    registers: [registry],
    async collect() {
      // A scrape while the database is down keeps the last value rather than failing.
      const bytes = await sources.storageBytes?.().catch(() => null);
      if (typeof bytes === 'number') this.set(bytes);
    },
  });
  return {
    registry,
    fileUploads,
    storageBytes,
    avatarUploads,
    avatarProcessingSeconds,
    http,
    rateLimitHits,
    dbPool,
    retentionDeleted,
    dependencyUp,
    loginAttempts,
    lockouts,
    tokensIssued,
    wsConnections,
    eventsPublished,
    eventsDelivered,
    pubsubLag,
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
