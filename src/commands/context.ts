import { parseArgs, type ParseArgsConfig } from 'node:util';
import { ConfigError, loadConfig, type Config } from '../config/index.js';
import type { Container } from '../container.js';
import { acquireDataDirLock } from './data-dir-lock.js';

/** A failure the CLI reports as one line and exit 1. */
export class CommandError extends Error {}

/** A usage mistake: exit 2. */
export class UsageError extends Error {}

export function readConfigOrExit(env: NodeJS.ProcessEnv): Readonly<Config> {
  try {
    return loadConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) {
      for (const p of err.problems) console.error(`tessera: configuration: ${p}`);
      process.exit(1);
    }
    throw err;
  }
}

/**
 * Opens the container for a one-shot command. On the embedded database it takes the
 * data-dir lock first, so a command never opens data a running server holds.
 */
export async function withContainer<T>(config: Readonly<Config>, name: string, fn: (c: Container) => Promise<T>): Promise<T> {
  const release = config.database.url ? () => undefined : acquireDataDirLock(config.dataDir, `tessera ${name}`);
  try {
    // Loaded here, not at the top: `tessera serve` imports this file too, and must not wait for
    // the whole service to load before it starts opening the database.
    const [{ buildContainer }, { createLogger }] = await Promise.all([import('../container.js'), import('../logger.js')]);
    const container = await buildContainer(config, { logger: createLogger({ ...config, logging: { level: 'warn', format: 'json' } }) });
    try {
      return await fn(container);
    } finally {
      await container.close();
    }
  } finally {
    release();
  }
}

/** Strict argument parsing for one command: anything unknown is a usage error (exit 2). */
export function parseCommandArgs<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n${usage}`);
  }
}
