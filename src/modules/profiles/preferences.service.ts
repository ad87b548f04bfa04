import type { Config } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import type { PreferencesRepository, PreferencesRow } from '../../repositories/preferences.repository.js';
import type { DomainEvents } from '../events/domain-events.js';
import {
  canonicalLanguageTag,
  completeNotifications,
  completePrivacy,
  defaultPreferences,
  type Preferences,
  type PreferencesPatch,
} from './preferences.js';
import type { ProfilesService } from './profiles.service.js';

/**
 * Theme, language, notifications and privacy. A user without a row has the defaults (seed 000,
 * DEFAULT_* settings); the first PATCH creates the row. Privacy changes go through the profile
 * cache's change protocol, so they hold on every instance from the next request on.
 */
export class PreferencesService {
  private readonly defaults: Preferences;

  constructor(
    config: Readonly<Config>,
    private readonly preferences: PreferencesRepository,
    private readonly profiles: ProfilesService,
    private readonly events: DomainEvents,
  ) {
    this.defaults = defaultPreferences(config);
  }

  async get(userId: string): Promise<Preferences> {
    return this.complete(await this.preferences.find(userId));
  }

  /** PATCH: members given replace theirs; `notifications` and `privacy` merge member by member. */
  async update(userId: string, patch: PreferencesPatch): Promise<Preferences> {
    const write: PreferencesPatch = { ...patch };
    if (patch.language !== undefined) write.language = canonicalLanguageTag(patch.language);
    if (Object.keys(write).length === 0) return this.get(userId);
    const row = await this.profiles.applyChange(userId, () => this.preferences.merge(userId, this.defaults, write));
    if (!row) throw new AppError('not_found', { detail: 'No such user' });
    const preferences = this.complete(row);
    await this.events.publish({ type: 'preferences.updated', userId, data: { ...preferences } });
    if (patch.privacy) await this.profiles.announce(userId);
    return preferences;
  }

  private complete(row: PreferencesRow | undefined): Preferences {
    if (!row) return structuredClone(this.defaults);
    return {
      theme: row.theme,
      language: row.language,
      notifications: completeNotifications(row.notifications, this.defaults.notifications),
      privacy: completePrivacy(row.privacy, this.defaults.privacy),
    };
  }
}
