import { sql, type Kysely, type Selectable } from 'kysely';
import type { Database, NotificationPreferences, PrivacyPreferences, UserPreferencesTable } from '../db/types.js';

export type PreferencesRow = Selectable<UserPreferencesTable>;

export interface PreferencesWrite {
  theme?: 'light' | 'dark' | 'system';
  language?: string;
  notifications?: Partial<NotificationPreferences>;
  privacy?: Partial<PrivacyPreferences>;
}

/** `user_preferences`: one row per user, created on the first change. */
export class PreferencesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  find(userId: string): Promise<PreferencesRow | undefined> {
    return this.db.selectFrom('user_preferences').selectAll().where('user_id', '=', userId).executeTakeFirst();
  }

  /**
   * One atomic statement: a new row takes the patch, with `initial` for the theme and language it
   * does not set; an existing row takes the patch, its JSON objects merged member by member
   * (`||`), so two PATCHes at once both land. The JSON objects hold only the members a person
   * has set: the others are read as the DEFAULT_* settings of the day (a first PATCH of the
   * theme does not freeze today's privacy defaults into the row). Undefined when the user does
   * not exist.
   */
  async merge(userId: string, initial: Pick<Required<PreferencesWrite>, 'theme' | 'language'>, patch: PreferencesWrite): Promise<PreferencesRow | undefined> {
    const notifications = JSON.stringify(patch.notifications ?? {});
    const privacy = JSON.stringify(patch.privacy ?? {});
    try {
      return await this.db
        .insertInto('user_preferences')
        .values({
          user_id: userId,
          theme: patch.theme ?? initial.theme,
          language: patch.language ?? initial.language,
          notifications,
          privacy,
        })
        .onConflict((oc) =>
          oc.column('user_id').doUpdateSet({
            theme: patch.theme ?? sql`user_preferences.theme`,
            language: patch.language ?? sql`user_preferences.language`,
            notifications: sql`user_preferences.notifications || ${notifications}::jsonb`,
            privacy: sql`user_preferences.privacy || ${privacy}::jsonb`,
            updated_at: sql`now()`,
          }),
        )
        .returningAll()
        .executeTakeFirst();
    } catch (err) {
      if (isForeignKeyViolation(err)) return undefined;
      throw err;
    }
  }
}

/** PostgreSQL's foreign_key_violation (23503): the user the row is for does not exist. */
function isForeignKeyViolation(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === '23503';
}
