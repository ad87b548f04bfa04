import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { FastifyInstance } from 'fastify';
import pg from 'pg';
import pino from 'pino';
import { inject } from 'vitest';
import { buildApp, type BuildAppOptions } from '../../src/app.js';
import { loadConfig, type Config } from '../../src/config/index.js';
import { LOG_REDACTION } from '../../src/logger.js';
import { buildContainer, type Container } from '../../src/container.js';
import { openDatabase, type DatabaseHandle } from '../../src/db/database.js';
import { BACKEND, databaseUrl, deleteRedisKeys, TEST_DATABASE_URL, TEST_REDIS_URL } from './services.js';

export interface TestApp {
  app: FastifyInstance;
  container: Container;
  config: Readonly<Config>;
  /** the settings this app was built from; pass them to a second instance */
  env: Record<string, string>;
  /** log lines written so far, parsed */
  logs(): Record<string, unknown>[];
  close(): Promise<void>;
}

export interface TestAppOptions extends BuildAppOptions {
  env?: Record<string, string>;
  /** another instance on the same database and Redis (the multi-instance tests) */
  sameStoresAs?: TestApp;
}

/** An embedded database loaded from the migrated template the global setup dumped. */
function embeddedDatabase(config: Readonly<Config>): Promise<DatabaseHandle> {
  return openDatabase(config, { embeddedDir: 'memory://', template: new Blob([readFileSync(inject('pgliteTemplate'))]) });
}

/** A fresh PostgreSQL database cloned from the migrated template. */
async function postgresDatabaseUrl(): Promise<{ url: string; drop: () => Promise<void> }> {
  const template = inject('postgresTemplate');
  const name = `${template.replace('tessera_tpl_', 'tessera_test_')}_${randomBytes(4).toString('hex')}`;
  const admin = new pg.Client({ connectionString: TEST_DATABASE_URL });
  await admin.connect();
  try {
    await admin.query(`create database "${name}" template "${template}"`);
  } finally {
    await admin.end();
  }
  return {
    url: databaseUrl(name),
    drop: async () => {
      const c = new pg.Client({ connectionString: TEST_DATABASE_URL });
      await c.connect();
      await c.query(`drop database if exists "${name}" with (force)`).finally(() => c.end());
    },
  };
}

/** A Tessera app on this project's backend: embedded, or real PostgreSQL + Redis. */
export async function createTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const dataDir = mkdtempSync(path.join(tmpdir(), 'tessera-test-'));
  const env: Record<string, string> = {
    DATA_DIR: dataDir,
    LOG_LEVEL: 'info',
    LOG_FORMAT: 'json',
    ...options.sameStoresAs?.env,
    ...options.env,
  };
  let dropDatabase: (() => Promise<void>) | undefined;
  if (BACKEND === 'postgres' && !options.sameStoresAs) {
    const created = await postgresDatabaseUrl();
    env.DATABASE_URL = created.url;
    env.REDIS_URL = TEST_REDIS_URL;
    env.REDIS_KEY_PREFIX = `tessera:test:${randomBytes(6).toString('hex')}:`;
    dropDatabase = created.drop;
  }
  const config = loadConfig(env);

  const lines: string[] = [];
  const logger = pino(
    { level: config.logging.level, ...LOG_REDACTION },
    { write: (line: string) => void lines.push(line) },
  );
  const shared = options.sameStoresAs;
  const container = await buildContainer(config, {
    logger,
    ...(BACKEND === 'embedded' ? { database: shared ? shareDatabase(shared.container.database) : await embeddedDatabase(config) } : {}),
    ...(BACKEND === 'embedded' && shared ? { kv: shared.container.kv } : {}),
  });
  const app = await buildApp(container, options);
  return {
    app,
    container,
    config,
    env,
    logs: () => lines.map((l) => JSON.parse(l) as Record<string, unknown>),
    async close() {
      await app.close();
      await container.close();
      if (BACKEND === 'postgres' && !shared) {
        await dropDatabase?.();
        await deleteRedisKeys(TEST_REDIS_URL, env.REDIS_KEY_PREFIX!);
      }
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

/** Embedded "second instance": the same database handle, closed only by its owner. */
function shareDatabase(handle: DatabaseHandle): DatabaseHandle {
  return { ...handle, close: async () => undefined };
}
