import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import type { Config } from '../../config/index.js';
import type { Database } from '../../db/types.js';
import type { Metrics } from '../../metrics.js';
import { FilesRepository } from '../../repositories/files.repository.js';
import { ObjectReferencesRepository } from '../../repositories/object-references.repository.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { CursorKeys } from '../pagination/cursor-keys.js';
import { FilesService } from './files.service.js';
import { StorageCleanup } from './storage-cleanup.js';

export interface FilesDependencies {
  config: Readonly<Config>;
  db: Kysely<Database>;
  storage: ObjectStorage;
  events: DomainEvents;
  metrics: Metrics;
  logger: Logger;
  /** the installation's list-cursor keys (shared with the other lists) */
  cursorKeys: CursorKeys;
  /** the avatars' own clean-up of a missing object (the profiles module's) */
  clearMissingAvatar: (userId: string, key: string) => Promise<boolean>;
}

/** User files (seed 002) and `tessera storage cleanup`, wired once (the container holds the result). */
export function createFilesModule(deps: FilesDependencies) {
  const logger = deps.logger.child({ component: 'files' });
  const repo = new FilesRepository(deps.db);
  const service = new FilesService({ config: deps.config, cursorKeys: deps.cursorKeys, repo, storage: deps.storage, events: deps.events, metrics: deps.metrics, logger });
  const cleanup = new StorageCleanup({
    storage: deps.storage,
    references: new ObjectReferencesRepository(deps.db),
    files: repo,
    events: deps.events,
    clearMissingAvatar: deps.clearMissingAvatar,
    logger,
  });
  return {
    service,
    cleanup,
    /** bytes stored by all users, for the tessera_storage_bytes gauge */
    totalStoredBytes: () => repo.totalUsedBytes(),
  };
}

export type FilesModule = ReturnType<typeof createFilesModule>;
