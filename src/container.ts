import type { Logger } from 'pino';
import type { KeyValueStore } from './adapters/kv/kv-store.js';
import { MemoryKeyValueStore } from './adapters/kv/memory.js';
import { createMailer } from './adapters/mailer/index.js';
import type { Mailer } from './adapters/mailer/mailer.js';
import { createObjectStorage } from './adapters/object-storage/index.js';
import type { ObjectStorage } from './adapters/object-storage/object-storage.js';
import type { Config } from './config/index.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';
import { createReadiness, type DependencyStates } from './modules/operations/readiness.js';
import { Retention } from './modules/operations/retention.js';
import { RetentionRepository } from './repositories/retention.repository.js';
import { createAuthModule, type AuthModule } from './modules/auth/auth-module.js';
import { REVOCATION_KEY_PREFIXES } from './modules/auth/revocation.js';
import { USER_CACHE_KEY_PREFIX } from './modules/auth/user-cache.js';
import { PROFILE_CACHE_KEY_PREFIX } from './modules/profiles/profile-cache.js';
import { createDomainEvents, type DomainEvents } from './modules/events/domain-events.js';
import { createFilesModule, type FilesModule } from './modules/files/files-module.js';
import { createProfilesModule, type ProfilesModule } from './modules/profiles/profiles-module.js';
import { createRealtimeModule, type RealtimeModule } from './modules/realtime/realtime-module.js';

/**
 * Every adapter, repository and service, built once, by hand. This is the only place
 * that chooses between the embedded and the production adapters.
 */
export interface Container {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  database: DatabaseHandle;
  kv: KeyValueStore;
  storage: ObjectStorage;
  /** one bounded check of each dependency (/ready and the tessera_dependency_up gauge) */
  readiness: () => Promise<DependencyStates>;
  mailer: Mailer;
  /** accounts, sessions, tokens, OAuth clients, admin (src/modules/auth) */
  auth: AuthModule;
  /** domain events for the realtime channel (src/modules/events) */
  events: DomainEvents;
  /** profiles, preferences, privacy and avatars (src/modules/profiles, src/modules/avatars) */
  profiles: ProfilesModule;
  /** WebSocket tickets and this instance's sockets (src/modules/realtime) */
  realtime: RealtimeModule;
  /** user files and `storage cleanup` (src/modules/files) */
  files: FilesModule;
  /** deletes ended sessions, expired tokens and old audit events (`serve` starts its schedule) */
  retention: Retention;
  close(): Promise<void>;
}

export interface ContainerOverrides {
  logger?: Logger;
  /** an embedded database folder other than DATA_DIR/db ('memory://' in tests) */
  embeddedDir?: string;
  /** a ready database (tests open one per file) */
  database?: DatabaseHandle;
  kv?: KeyValueStore;
}

export async function buildContainer(config: Readonly<Config>, overrides: ContainerOverrides = {}): Promise<Container> {
  const logger = overrides.logger ?? createLogger(config);
  const closers: (() => Promise<void>)[] = [];
  try {
    const database = overrides.database ?? (await openDatabase(config, overrides.embeddedDir ? { embeddedDir: overrides.embeddedDir } : {}));
    closers.push(() => database.close());

    const kv = overrides.kv ?? (await openKeyValueStore(config));
    closers.push(() => kv.close());

    const storage = await createObjectStorage(config);
    closers.push(() => storage.close());

    // `files` is built below; the gauge reads it only when scraped.
    const readiness = createReadiness({ database, kv, storage });
    const metrics = createMetrics({ poolStats: () => database.poolStats(), storageBytes: () => files.totalStoredBytes(), dependencies: readiness, kvStats: () => kv.stats?.() });

    const events = createDomainEvents(
      kv,
      (err) => logger.warn({ err }, 'domain event not delivered'),
      (event) => metrics.eventsPublished.inc({ type: event.type }),
    );

    const mailer = createMailer(config, logger);
    closers.push(() => mailer.close());

    const auth = createAuthModule({ config, logger, metrics, db: database.db, kv, mailer, events });
    // Closed before the mailer and the stores: it waits for e-mails in flight.
    closers.push(() => auth.close());

    const profiles = createProfilesModule({
      config,
      logger,
      metrics,
      db: database.db,
      kv,
      storage,
      events,
      invalidateUser: (userId) => auth.userCache.invalidate(userId),
    });

    // A profile shows the sign-in and activity times too (with show_activity).
    auth.sessions.onUserActivity((userId) =>
      profiles.profiles.activityChanged(userId).catch((err: unknown) => logger.warn({ err, userId }, 'profile cache not invalidated after a sign-in or refresh; it expires within PROFILE_CACHE_TTL')),
    );

    const files = createFilesModule({
      config,
      logger,
      metrics,
      db: database.db,
      storage,
      events,
      cursorKeys: profiles.cursorKeys,
      clearMissingAvatar: (userId, key) => profiles.avatars.clearMissing(userId, key),
    });

    const realtime = createRealtimeModule({
      config,
      logger,
      metrics,
      kv,
      events,
      profileRecord: (userId) => profiles.profiles.record(userId),
      liveSessions: (ids) => auth.sessions.liveAmong(ids),
    });
    // Closed first: sockets get 1001 while the stores are still there.
    closers.push(() => realtime.close());

    const retention = new Retention(new RetentionRepository(database.db), config.retention, logger, (table, rows) => metrics.retentionDeleted.inc({ table }, rows));
    closers.push(() => retention.stop());

    let closed = false;
    return {
      config,
      logger,
      metrics,
      database,
      kv,
      storage,
      readiness,
      mailer,
      auth,
      events,
      profiles,
      realtime,
      files,
      retention,
      async close() {
        if (closed) return;
        closed = true;
        for (const close of closers.reverse()) await close().catch((err: unknown) => logger.warn({ err }, 'error while closing'));
      },
    };
  } catch (err) {
    for (const close of closers.reverse()) await close().catch(() => undefined);
    throw err;
  }
}

async function openKeyValueStore(config: Readonly<Config>): Promise<KeyValueStore> {
  if (!config.redis.url) return new MemoryKeyValueStore();
  // ioredis (45 modules) loads only when Redis is configured.
  const { RedisKeyValueStore } = await import('./adapters/kv/redis.js');
  const store = new RedisKeyValueStore({
    url: config.redis.url,
    keyPrefix: config.redis.keyPrefix,
    // What the request gate reads on every request: revocation entries, cached users, profiles.
    nearCache: { prefixes: [...REVOCATION_KEY_PREFIXES, USER_CACHE_KEY_PREFIX, PROFILE_CACHE_KEY_PREFIX], windowMs: config.redis.nearCacheMs },
    leasePercent: config.redis.leasePercent,
  });
  await store.connect();
  return store;
}

