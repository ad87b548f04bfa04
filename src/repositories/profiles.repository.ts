import { sql, type ExpressionBuilder, type Kysely, type Selectable } from 'kysely';
import type { Database, PrivacyPreferences, UsersTable } from '../db/types.js';

type Visibility = PrivacyPreferences['profile_visibility'];

/** A user's profile columns and their stored privacy (null: no preferences row yet). */
export interface ProfileRow {
  id: string;
  email: string;
  display_name: string | null;
  bio: string | null;
  avatar_key: string | null;
  avatar_thumbnail_key: string | null;
  created_at: Date;
  updated_at: Date;
  last_login_at: Date | null;
  last_active_at: Date | null;
  privacy: Partial<PrivacyPreferences> | null;
}

export interface AvatarKeys {
  avatarKey: string;
  thumbnailKey: string;
}

export interface ProfileSearch {
  /** lower-cased prefix of the display name; null: every named profile */
  prefix: string | null;
  /** the last (name, id) of the previous page */
  after: { name: string; id: string } | null;
  limit: number;
  /** the viewer's own profile is always a candidate */
  viewerId: string | null;
  /** which stored visibilities the viewer may see (every one, for admins) */
  visibilities: Visibility[];
  /** the visibility of a user without a preferences row (DEFAULT_PROFILE_VISIBILITY) */
  defaultVisibility: Visibility;
}

const USER_COLUMNS = [
  'id',
  'email',
  'display_name',
  'bio',
  'avatar_key',
  'avatar_thumbnail_key',
  'created_at',
  'updated_at',
  'last_login_at',
  'last_active_at',
] as const satisfies readonly (keyof Selectable<UsersTable>)[];

/** The sort key of search: the lower-cased name in byte order, matching the users_display_name_prefix index. */
const sortName = sql<string>`lower(u.display_name) collate "C"`;

/** Profiles: the profile columns of `users` joined with the privacy of `user_preferences`. */
export class ProfilesRepository {
  constructor(private readonly db: Kysely<Database>) {}

  private profiles() {
    return this.db
      .selectFrom('users as u')
      .leftJoin('user_preferences as p', 'p.user_id', 'u.id')
      .select(USER_COLUMNS.map((c) => `u.${c}` as const))
      .select('p.privacy');
  }

  findById(id: string): Promise<ProfileRow | undefined> {
    return this.profiles().where('u.id', '=', id).executeTakeFirst();
  }

  /** Sets the given fields (a missing one is left alone) and returns the profile as it now is. */
  async update(id: string, fields: { display_name?: string | null; bio?: string | null }): Promise<ProfileRow | undefined> {
    return this.db
      .with('changed', (db) =>
        db
          .updateTable('users')
          .set({ ...fields, updated_at: sql`now()` })
          .where('id', '=', id)
          .returning(USER_COLUMNS),
      )
      .selectFrom('changed as u')
      .leftJoin('user_preferences as p', 'p.user_id', 'u.id')
      .select(USER_COLUMNS.map((c) => `u.${c}` as const))
      .select('p.privacy')
      .executeTakeFirst();
  }

  async roleOf(id: string): Promise<'user' | 'admin' | undefined> {
    const row = await this.db.selectFrom('users').select('role').where('id', '=', id).executeTakeFirst();
    return row?.role;
  }

  /**
   * Display-name prefix search over the profiles the viewer may see, in (lower(name), id) order,
   * keyset-paginated. Visibility is filtered here so pages are full; the privacy decision
   * itself is still made on every row by the profiles service.
   */
  search(s: ProfileSearch): Promise<(ProfileRow & { sort_name: string })[]> {
    let query = this.profiles().select(sortName.as('sort_name')).where('u.display_name', 'is not', null);
    if (s.prefix) query = query.where(sortName, 'like', sql<string>`lower(${`${escapeLike(s.prefix)}%`})`);
    if (s.after) {
      const { name, id } = s.after;
      query = query.where(sql<boolean>`(${sortName}, u.id) > (${name} collate "C", ${id}::uuid)`);
    }
    query = query.where((eb) => visibleTo(eb, s));
    return query.orderBy(sortName).orderBy('u.id').limit(s.limit).execute();
  }

  avatarKeys(id: string): Promise<{ avatar_key: string | null; avatar_thumbnail_key: string | null } | undefined> {
    return this.db.selectFrom('users').select(['avatar_key', 'avatar_thumbnail_key']).where('id', '=', id).executeTakeFirst();
  }

  /**
   * Points the profile at new avatar objects (or none) and returns the keys it pointed at before,
   * read under the same row lock: two uploads at once each see the other's keys as "previous".
   * With `onlyIfPointingAt`, only a profile whose avatar (either size) is that key is changed
   * (`tessera storage cleanup` clearing an avatar whose object is gone, unless a new upload won).
   * Undefined when the user does not exist, or the profile does not point at that key.
   */
  async replaceAvatar(id: string, keys: AvatarKeys | null, onlyIfPointingAt?: string): Promise<{ previous: AvatarKeys | null } | undefined> {
    return this.db.transaction().execute(async (trx) => {
      const before = await trx
        .selectFrom('users')
        .select(['avatar_key', 'avatar_thumbnail_key'])
        .where('id', '=', id)
        .forUpdate()
        .executeTakeFirst();
      if (!before) return undefined;
      if (onlyIfPointingAt !== undefined && before.avatar_key !== onlyIfPointingAt && before.avatar_thumbnail_key !== onlyIfPointingAt) return undefined;
      await trx
        .updateTable('users')
        .set({ avatar_key: keys?.avatarKey ?? null, avatar_thumbnail_key: keys?.thumbnailKey ?? null, updated_at: sql`now()` })
        .where('id', '=', id)
        .execute();
      const previous =
        before.avatar_key && before.avatar_thumbnail_key ? { avatarKey: before.avatar_key, thumbnailKey: before.avatar_thumbnail_key } : null;
      return { previous };
    });
  }
}

function visibleTo(eb: ExpressionBuilder<Database & { u: Database['users']; p: Database['user_preferences'] }, 'u' | 'p'>, s: ProfileSearch) {
  if (s.visibilities.length === 3) return sql<boolean>`true`;
  const visibility = sql<string>`coalesce(p.privacy->>'profile_visibility', ${s.defaultVisibility})`;
  const allowed = eb(visibility, 'in', s.visibilities);
  return s.viewerId ? eb.or([eb('u.id', '=', s.viewerId), allowed]) : allowed;
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}
