import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../config/index.js';
import { AppError } from '../../errors/app-error.js';
import { canonicalLanguageTag, completeNotifications, completePrivacy, defaultPreferences } from './preferences.js';

describe('preferences', () => {
  it('defaults: seed 000, privacy from DEFAULT_*', () => {
    expect(defaultPreferences(loadConfig({}))).toEqual({
      theme: 'light',
      language: 'en',
      notifications: { email: true, push: false, task_reminders: true, task_assignments: true },
      privacy: { profile_visibility: 'public', show_email: false, show_activity: true },
    });
    const config = loadConfig({ DEFAULT_PROFILE_VISIBILITY: 'private', DEFAULT_SHOW_EMAIL: 'true', DEFAULT_SHOW_ACTIVITY: 'false' });
    expect(defaultPreferences(config).privacy).toEqual({ profile_visibility: 'private', show_email: true, show_activity: false });
  });

  it('stored members win; missing or malformed ones take the default', () => {
    const defaults = { profile_visibility: 'users' as const, show_email: false, show_activity: true };
    expect(completePrivacy({ show_email: true }, defaults)).toEqual({ profile_visibility: 'users', show_email: true, show_activity: true });
    expect(completePrivacy({ profile_visibility: 'everyone' as never }, defaults).profile_visibility).toBe('users');
    expect(completePrivacy(null, defaults)).toEqual(defaults);
    const n = { email: true, push: false, task_reminders: true, task_assignments: true };
    expect(completeNotifications({ push: true, email: 'no' as never }, n)).toEqual({ ...n, push: true });
  });

  it.each([
    ['en', 'en'],
    ['EN-us', 'en-US'],
    ['zh-hant-tw', 'zh-Hant-TW'],
    ['sr-Latn-RS', 'sr-Latn-RS'],
    ['de-CH-1996', 'de-CH-1996'],
  ])('language %s → %s', (input, canonical) => {
    expect(canonicalLanguageTag(input)).toBe(canonical);
  });

  it.each(['english', 'e', 'en_US', 'x-private', '123', 'en--US', '', 'a'.repeat(40)])('language %j is refused with a 422 naming language', (tag) => {
    try {
      canonicalLanguageTag(tag);
      throw new Error('accepted');
    } catch (err) {
      expect(err).toBeInstanceOf(AppError);
      expect((err as AppError).errors?.[0]?.field).toBe('language');
    }
  });
});
