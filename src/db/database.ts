import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { Kysely, PostgresDialect, sql } from 'kysely';
import type Pg from 'pg';
import type { Config } from '../config/index.js';
import { copyEmbeddedTemplate, personaliseTemplate } from './embedded-template.js';
import { PGliteDialect } from './pglite-dialect.js';
import { preparedName } from './prepared.js';
import type { Database } from './types.js';

export interface PoolStats {
  total: number;
  idle: number;
  waiting: number;
  max: number;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  kind: 'embedded' | 'postgres';
  /** one cheap round trip, bounded in time */
  ping(timeoutMs?: number): Promise<void>;
  poolStats(): PoolStats;
  close(): Promise<void>;
}

/**
 * PGlite's start parameters, plus a smaller shared buffer pool: PostgreSQL zeroes the whole
 * pool at start (PGlite's default 128 MB took ~0.4 s of a ~3 s start-up on a small machine).
 * 32 MB holds a small installation's working set; the OS page cache holds the files as well.
 */
const EMBEDDED_START_PARAMS = [...PGlite.defaultStartParams, '-c', 'shared_buffers=32MB'];

export async function openDatabase(
  config: Pick<Config, 'database' | 'dataDir'>,
  options: { embeddedDir?: string; /** an embedded data dir dump to start from (tests) */ template?: Blob } = {},
): Promise<DatabaseHandle> {
  if (config.database.url) return openPostgres(config.database, (await import('pg')).default);
  const dir = options.embeddedDir ?? path.join(config.dataDir, 'db');
  let pglite: PGlite;
  if (dir === 'memory://') {
    pglite = await PGlite.create({ startParams: EMBEDDED_START_PARAMS, ...(options.template ? { loadDataDir: options.template } : {}) });
  } else {
    mkdirSync(path.dirname(dir), { recursive: true });
    const fromTemplate = !existsSync(path.join(dir, 'PG_VERSION')) && copyEmbeddedTemplate(dir);
    mkdirSync(dir, { recursive: true });
    pglite = await PGlite.create(dir, { startParams: EMBEDDED_START_PARAMS });
    if (fromTemplate) await personaliseTemplate(pglite);
  }
  const db = new Kysely<Database>({ dialect: new PGliteDialect(pglite) });
  let busy = 0;
  return {
    db,
    kind: 'embedded',
    async ping() {
      busy++;
      try {
        await sql`select 1`.execute(db);
      } finally {
        busy--;
      }
    },
    poolStats: () => ({ total: 1, idle: busy ? 0 : 1, waiting: Math.max(0, busy - 1), max: 1 }),
    close: () => db.destroy(),
  };
}

/** `pg` is loaded only when DATABASE_URL is set (and PGlite only when it is not). */
function openPostgres(settings: Config['database'], pg: typeof Pg): DatabaseHandle {
  // pg returns bigint (int8) as strings; counts and sizes here fit easily in a JS number.
  pg.types.setTypeParser(20, (v) => Number(v));
  const max = settings.poolSize + settings.maxOverflow;
  const pool = new pg.Pool({
    connectionString: settings.url ?? undefined,
    max,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: Math.min(settings.poolTimeoutMs, 5_000),
    statement_timeout: settings.statementTimeoutMs || undefined,
    application_name: 'tessera',
    keepAlive: true,
  });
  // An idle client losing its server must not crash the process; the next query reconnects.
  pool.on('error', () => undefined);
  // Off (DATABASE_PREPARED_STATEMENTS=false) behind a transaction-pooling PgBouncer older than
  // 1.21 without max_prepared_statements: a named statement lives on one server connection.
  if (settings.preparedStatements) pool.on('connect', prepareMarkedStatements);
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return {
    db,
    kind: 'postgres',
    async ping(timeoutMs = 2_000) {
      await withTimeout(sql`select 1`.execute(db), timeoutMs, 'database ping timed out');
    },
    poolStats: () => ({ total: pool.totalCount, idle: pool.idleCount, waiting: pool.waitingCount, max }),
    close: () => db.destroy(),
  };
}

/**
 * Kysely sends every statement as `client.query(text, values)`; a text ending with a
 * `prepared()` marker goes as a named statement instead, which pg parses once per connection.
 */
function prepareMarkedStatements(client: Pg.PoolClient): void {
  const query = client.query.bind(client) as (...args: unknown[]) => unknown;
  client.query = ((...args: unknown[]) => {
    const [text, values] = args;
    const name = typeof text === 'string' && args.length <= 2 ? preparedName(text) : null;
    return name ? query({ name, text, values }) : query(...args);
  }) as typeof client.query;
}

export function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(message), { code: 'ETIMEDOUT' })), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'ENOTFOUND', 'EHOSTUNREACH', 'EPIPE', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

/** True when an error means "the database cannot be reached", as opposed to a bad query. */
export function isDatabaseUnavailable(err: unknown): boolean {
  if (!err || typeof err !== 'object') return false;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown };
  if (typeof e.code === 'string' && UNAVAILABLE_CODES.has(e.code)) return true;
  const msg = typeof e.message === 'string' ? e.message : '';
  if (/Connection terminated|timeout exceeded when trying to connect|database ping timed out|Client has encountered a connection error/i.test(msg)) return true;
  if (Array.isArray(e.errors)) return e.errors.some(isDatabaseUnavailable);
  return false;
}
