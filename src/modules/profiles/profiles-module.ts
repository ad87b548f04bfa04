import type { Kysely } from 'kysely';
import type { Logger } from 'pino';
import type { KeyValueStore } from '../../adapters/kv/kv-store.js';
import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import type { Config } from '../../config/index.js';
import type { Database } from '../../db/types.js';
import type { Metrics } from '../../metrics.js';
import { MetaRepository } from '../../repositories/meta.repository.js';
import { PreferencesRepository } from '../../repositories/preferences.repository.js';
import { ProfilesRepository } from '../../repositories/profiles.repository.js';
import { AvatarService } from '../avatars/avatar.service.js';
import type { DomainEvents } from '../events/domain-events.js';
import { CursorKeys } from '../pagination/cursor-keys.js';
import { PreferencesService } from './preferences.service.js';
import { ProfileCache } from './profile-cache.js';
import { ProfilesService } from './profiles.service.js';

export interface ProfilesDependencies {
  config: Readonly<Config>;
  logger: Logger;
  metrics: Metrics;
  db: Kysely<Database>;
  kv: KeyValueStore;
  storage: ObjectStorage;
  events: DomainEvents;
  /** drops the auth module's cached user object (it carries the display name) */
  invalidateUser: (userId: string) => Promise<void>;
}

/** Profiles, preferences and avatars, wired once (the container holds the result). */
export function createProfilesModule(deps: ProfilesDependencies) {
  const { config, db, kv, storage, events, metrics } = deps;
  const logger = deps.logger.child({ component: 'profiles' });
  const repository = new ProfilesRepository(db);
  const cache = new ProfileCache(kv, config.profiles.cacheTtlSeconds, (err, what) => logger.warn({ err }, what));
  // Shared with every other list (files, admin…): one per-installation secret, a key per list.
  const cursorKeys = new CursorKeys(config.auth.secret, new MetaRepository(db));
  const profiles = new ProfilesService({ config, logger, profiles: repository, cache, storage, events, cursorKeys, invalidateUser: deps.invalidateUser });
  const preferences = new PreferencesService(config, new PreferencesRepository(db), profiles, events);
  const avatars = new AvatarService(config, storage, repository, profiles, metrics, logger, kv);
  return { profiles, preferences, avatars, cursorKeys, repository };
}

export type ProfilesModule = ReturnType<typeof createProfilesModule>;
