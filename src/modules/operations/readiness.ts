import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import { withTimeout, type DatabaseHandle } from '../../db/database.js';

export type DependencyState = 'ok' | 'down' | 'disabled';

export type DependencyStates = Record<'database' | 'redis' | 'storage', DependencyState>;

const CHECK_TIMEOUT_MS = 2_000;

async function probe(check: () => Promise<void>): Promise<DependencyState> {
  try {
    await withTimeout(check(), CHECK_TIMEOUT_MS, 'readiness check timed out');
    return 'ok';
  } catch {
    return 'down';
  }
}

/**
 * One bounded round trip to each dependency: what /ready answers and what the metrics report.
 * Callers that arrive while a check is running share it (its answer is at most one check old),
 * so a burst of probes — or someone hammering the unauthenticated /ready — costs one database
 * query, one Redis PING and one storage write at a time, not one per request.
 */
export function createReadiness(deps: { database: DatabaseHandle; kv: KeyValueStore; storage: ObjectStorage }): () => Promise<DependencyStates> {
  let running: Promise<DependencyStates> | null = null;
  const check = async (): Promise<DependencyStates> => {
    const [database, redis, storage] = await Promise.all([
      probe(() => deps.database.ping(CHECK_TIMEOUT_MS)),
      deps.kv.kind === 'redis' ? probe(() => deps.kv.ping()) : Promise.resolve<DependencyState>('disabled'),
      probe(() => deps.storage.check()),
    ]);
    return { database, redis, storage };
  };
  return () =>
    (running ??= check().finally(() => {
      running = null;
    }));
}
