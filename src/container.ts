import path from 'node:path';
import type { Logger } from 'pino';
import type { KeyValueStore } from './adapters/kv/kv-store.js';
import { MemoryKeyValueStore } from './adapters/kv/memory.js';
import { RedisKeyValueStore } from './adapters/kv/redis.js';
import { LocalObjectStorage } from './adapters/object-storage/local.js';
import type { ObjectStorage } from './adapters/object-storage/object-storage.js';
import type { Config } from './config/index.js';
import { openDatabase, type DatabaseHandle } from './db/database.js';
import { createLogger } from './logger.js';
import { createMetrics, type Metrics } from './metrics.js';

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

    const storage = await openObjectStorage(config);
    closers.push(() => storage.close());

    const metrics = createMetrics({ poolStats: () => database.poolStats() });

    let closed = false;
    return {
      config,
      logger,
      metrics,
      database,
      kv,
      storage,
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
  const store = new RedisKeyValueStore({ url: config.redis.url, keyPrefix: config.redis.keyPrefix });
  await store.connect();
  return store;
}

async function openObjectStorage(config: Readonly<Config>): Promise<ObjectStorage> {
  const local = new LocalObjectStorage(path.join(config.dataDir, 'uploads'));
  await local.init();
  return local;
}
