import type { Config } from '../../config/index.js';
import type { NotificationPreferences, PrivacyPreferences } from '../../db/types.js';
import { AppError } from '../../errors/app-error.js';

export type { NotificationPreferences, PrivacyPreferences } from '../../db/types.js';
export type Theme = 'light' | 'dark' | 'system';
export type Visibility = PrivacyPreferences['profile_visibility'];

export interface Preferences {
  theme: Theme;
  language: string;
  notifications: NotificationPreferences;
  privacy: PrivacyPreferences;
}

/** PATCH /users/me/preferences: every member optional; objects merge into what is stored. */
export interface PreferencesPatch {
  theme?: Theme;
  language?: string;
  notifications?: Partial<NotificationPreferences>;
  privacy?: Partial<PrivacyPreferences>;
}

/** Seed 000's column defaults; privacy from DEFAULT_PROFILE_VISIBILITY, DEFAULT_SHOW_EMAIL, DEFAULT_SHOW_ACTIVITY. */
export function defaultPreferences(config: Readonly<Config>): Preferences {
  return {
    theme: 'light',
    language: 'en',
    notifications: { email: true, push: false, task_reminders: true, task_assignments: true },
    privacy: defaultPrivacy(config),
  };
}

export function defaultPrivacy(config: Readonly<Config>): PrivacyPreferences {
  return {
    profile_visibility: config.profiles.defaultVisibility,
    show_email: config.profiles.defaultShowEmail,
    show_activity: config.profiles.defaultShowActivity,
  };
}

/** Stored privacy over the defaults: a member missing from the row (or no row) takes the default. */
export function completePrivacy(stored: Partial<PrivacyPreferences> | null | undefined, defaults: PrivacyPreferences): PrivacyPreferences {
  const visibility = stored?.profile_visibility;
  return {
    profile_visibility: visibility === 'public' || visibility === 'users' || visibility === 'private' ? visibility : defaults.profile_visibility,
    show_email: typeof stored?.show_email === 'boolean' ? stored.show_email : defaults.show_email,
    show_activity: typeof stored?.show_activity === 'boolean' ? stored.show_activity : defaults.show_activity,
  };
}

export function completeNotifications(stored: Partial<NotificationPreferences> | null | undefined, defaults: NotificationPreferences): NotificationPreferences {
  const pick = (name: keyof NotificationPreferences) => (typeof stored?.[name] === 'boolean' ? stored[name] : defaults[name]);
  return { email: pick('email'), push: pick('push'), task_reminders: pick('task_reminders'), task_assignments: pick('task_assignments') };
}

/**
 * A BCP 47 language tag in its canonical form ("EN-us" → "en-US"), or a 422 naming `language`.
 * ECMA-402's canonicalisation is the validator: it refuses anything that is not well-formed.
 */
export function canonicalLanguageTag(tag: string): string {
  let canonical: string | undefined;
  try {
    canonical = Intl.getCanonicalLocales(tag)[0];
  } catch {
    canonical = undefined;
  }
  if (!canonical || canonical.length > 35 || !/^[A-Za-z]{2,3}(-|$)/.test(canonical)) {
    throw new AppError('validation_failed', { errors: [{ field: 'language', message: 'is not a BCP 47 language tag (e.g. "en", "pt-BR")' }] });
  }
  return canonical;
}
