import { completePrivacy, type PrivacyPreferences, type Visibility } from './preferences.js';

/**
 * THE privacy decision (SPEC "Profiles, preferences, privacy"). Every path that returns a
 * profile — one profile, search, realtime events, the owner of a file — passes the stored
 * record and the viewer through `profileFor`, and returns what it gives, or nothing.
 *
 * - `public`: anyone, even without a token; `users`: any signed-in user; `private`: only the
 *   owner and admins. Everyone else gets null, which callers answer as 404 (indistinguishable
 *   from a user that does not exist).
 * - `email` only with `show_email`; `last_login_at` / `last_active_at` only with `show_activity`.
 * - The owner and admins see everything.
 */

/** A stored profile with everything privacy may hide; what the profile cache holds. */
export interface ProfileRecord {
  id: string;
  email: string;
  display_name: string | null;
  bio: string | null;
  avatar_url: string | null;
  avatar_thumbnail_url: string | null;
  created_at: string;
  updated_at: string;
  last_login_at: string | null;
  last_active_at: string | null;
  /** complete: the DEFAULT_* settings filled in */
  privacy: PrivacyPreferences;
}

/** What a profile looks like to one viewer; members privacy hides are absent, not null. */
export interface ProfileView {
  id: string;
  display_name: string | null;
  bio: string | null;
  avatar_url: string | null;
  avatar_thumbnail_url: string | null;
  created_at: string;
  email?: string;
  last_login_at?: string | null;
  last_active_at?: string | null;
}

/** Who is looking: a signed-in user (maybe an admin) or nobody (no token, or a service token). */
export interface Viewer {
  userId: string | null;
  admin: boolean;
}

export const ANONYMOUS: Viewer = Object.freeze({ userId: null, admin: false });

/** The visibilities a viewer may see on profiles that are not their own. */
export function visibilitiesVisibleTo(viewer: Viewer): Visibility[] {
  if (viewer.admin) return ['public', 'users', 'private'];
  return viewer.userId ? ['public', 'users'] : ['public'];
}

/** Whether the viewer is the owner or an admin: they see the whole profile. */
function seesEverything(viewer: Viewer, ownerId: string): boolean {
  return viewer.admin || (viewer.userId !== null && viewer.userId === ownerId);
}

/**
 * Whether anything of this profile could differ for an admin: the one case where a caller
 * needs to find out if a signed-in viewer is an admin before calling `profileFor`.
 */
export function adminWouldSeeMore(viewer: Viewer, record: Pick<ProfileRecord, 'id' | 'privacy'>): boolean {
  if (viewer.userId === null || viewer.admin || viewer.userId === record.id) return false;
  const p = record.privacy;
  return p.profile_visibility === 'private' || !p.show_email || !p.show_activity;
}

/** The two views a shared (frozen) record can have: the whole profile, and what others may see. */
const sharedViews = new WeakMap<ProfileRecord, { whole?: Readonly<ProfileView>; shown?: Readonly<ProfileView> }>();

/**
 * The profile as `viewer` may see it, or null when they may not see it at all. A frozen record
 * (the profile cache's copies, shared by every reader) has its views made once and frozen too,
 * so a hot profile's answer is the same object every time (routes/profiles.ts serializes it once).
 */
export function profileFor(viewer: Viewer, record: ProfileRecord): ProfileView | null {
  const everything = seesEverything(viewer, record.id);
  if (!everything && !visibilitiesVisibleTo(viewer).includes(record.privacy.profile_visibility)) return null;
  if (!Object.isFrozen(record)) return viewOf(record, everything);
  let views = sharedViews.get(record);
  if (!views) sharedViews.set(record, (views = {}));
  if (everything) return (views.whole ??= Object.freeze(viewOf(record, true)));
  return (views.shown ??= Object.freeze(viewOf(record, false)));
}

function viewOf(record: ProfileRecord, everything: boolean): ProfileView {
  const view: ProfileView = {
    id: record.id,
    display_name: record.display_name,
    bio: record.bio,
    avatar_url: record.avatar_url,
    avatar_thumbnail_url: record.avatar_thumbnail_url,
    created_at: record.created_at,
  };
  if (everything || record.privacy.show_email) view.email = record.email;
  if (everything || record.privacy.show_activity) {
    view.last_login_at = record.last_login_at;
    view.last_active_at = record.last_active_at;
  }
  return view;
}

/** What a malformed or missing privacy setting counts as where there is no configured default: closed. */
const CLOSED: PrivacyPreferences = Object.freeze({ profile_visibility: 'private', show_email: false, show_activity: false });

/**
 * For the realtime channel: a `profile.updated` payload (the owner's view of the profile with
 * the `privacy` it was saved under) as `viewer` may see it, or null. Goes through `profileFor`;
 * a payload without a usable privacy member is shown to nobody but the owner and admins.
 */
export function profileEventFor(viewer: Viewer, data: Record<string, unknown>): ProfileView | null {
  if (typeof data.id !== 'string') return null;
  const privacy = completePrivacy(data.privacy as Partial<PrivacyPreferences> | null | undefined, CLOSED);
  return profileFor(viewer, { ...(data as unknown as ProfileRecord), privacy });
}
