import type { Kysely } from 'kysely';
import { openDatabase } from '../db/database.js';
import { loadCommonPasswords } from '../modules/auth/common-passwords.js';
import { acquireDataDirLock } from './data-dir-lock.js';
import { readConfigOrExit } from './context.js';

/** `tessera serve`: migrate (unless MIGRATE_ON_START=false), listen, and shut down gracefully. */
export async function serveCommand(): Promise<void> {
  const started = performance.now();
  const config = readConfigOrExit(process.env);
  const release = config.database.url ? () => undefined : acquireDataDirLock(config.dataDir, 'tessera serve');
  // The database starts first (PGlite compiles its WebAssembly and reads its files off the main
  // thread) while the rest of the service is loaded: start-up is the longer of the two, not the sum.
  const opening = openDatabase(config);
  opening.catch(() => undefined); // awaited below; not unhandled while the modules load
  const [{ buildContainer }, { buildApp }, { migrateUp }] = await Promise.all([import('../container.js'), import('../app.js'), import('../db/migrator.js')]);
  const container = await opening.then((database) => buildContainer(config, { database })).catch((err: unknown) => {
    release();
    throw err;
  });
  const { logger } = container;
  try {
    if (config.database.migrateOnStart) {
      const applied = await migrateUp(container.database.db as unknown as Kysely<unknown>);
      if (applied.length) logger.info({ applied }, 'migrations applied');
    }
  } catch (err) {
    await container.close();
    release();
    throw err;
  }
  const app = await buildApp(container);

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down: no new connections, finishing in-flight requests');
    const force = setTimeout(() => {
      logger.error('in-flight requests did not finish in SHUTDOWN_TIMEOUT_MS; exiting');
      release();
      process.exit(1);
    }, config.server.shutdownTimeoutMs);
    force.unref();
    try {
      await app.close();
      await container.close();
    } finally {
      release();
    }
    logger.info('stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  await app.listen({ host: config.server.host, port: config.server.port });
  container.retention.start();
  // Loaded once serving: the first sign-up does not wait for the common-password list.
  setTimeout(loadCommonPasswords, 2_000).unref();
  logger.info(
    {
      url: config.server.publicUrl,
      environment: config.environment,
      database: container.database.kind,
      kv: container.kv.kind,
      storage: container.storage.kind,
      startupMs: Math.round(performance.now() - started),
    },
    'tessera is serving',
  );
}
