import type { Logger } from 'pino';
import type { ObjectStorage } from '../../adapters/object-storage/object-storage.js';
import type { Config } from '../../config/index.js';
import { AppError, type FieldError } from '../../errors/app-error.js';
import type { ProfileRow, ProfilesRepository } from '../../repositories/profiles.repository.js';
import type { Principal } from '../auth/authenticator.js';
import type { DomainEvents } from '../events/domain-events.js';
import type { CursorKeys } from '../pagination/cursor-keys.js';
import { decodeCursor, encodeCursor, invalidCursor } from '../pagination/cursor.js';
import { completePrivacy, defaultPrivacy, type PrivacyPreferences } from './preferences.js';
import { adminWouldSeeMore, ANONYMOUS, profileFor, visibilitiesVisibleTo, type ProfileRecord, type ProfileView, type Viewer } from './privacy.js';
import type { ProfileCache } from './profile-cache.js';
import { checkedDisplayName, checkedText, neutraliseBio, neutraliseDisplayName } from './sanitize.js';

export interface ProfilePatch {
  display_name?: string | null;
  bio?: string | null;
}

export interface ProfileSearchInput {
  q?: string | undefined;
  limit?: number | undefined;
  cursor?: string | undefined;
}

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}

interface SearchCursor {
  q: string | null;
  n: string;
  i: string;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const DEFAULT_SEARCH_LIMIT = 20;
export const MAX_SEARCH_LIMIT = 100;

export interface ProfilesServiceDependencies {
  config: Readonly<Config>;
  logger: Logger;
  profiles: ProfilesRepository;
  cache: ProfileCache;
  storage: ObjectStorage;
  events: DomainEvents;
  cursorKeys: CursorKeys;
  /** the auth module's cached user object holds the display name too */
  invalidateUser: (userId: string) => Promise<void>;
}

/**
 * Profiles as people see them. Every profile that leaves this service has been through
 * `profileFor` (privacy.ts) with the viewer of the request; nothing else decides visibility.
 */
/** Key-value entries read ahead of the handler, by key. */
type Prefetched = ReadonlyMap<string, string | null> | null;

export class ProfilesService {
  private readonly defaults: PrivacyPreferences;

  constructor(private readonly deps: ProfilesServiceDependencies) {
    this.defaults = defaultPrivacy(deps.config);
  }

  /** GET /users/me/profile */
  ownProfile(userId: string, prefetched?: Prefetched): ProfileView | Promise<ProfileView> {
    // Read ahead in the request's round trip and current: answered in this tick.
    const cached = this.deps.cache.current(userId, prefetched);
    if (cached) return profileFor({ userId, admin: false }, cached)!;
    return this.record(userId, prefetched).then((record) => found(record && profileFor({ userId, admin: false }, record)));
  }

  /** GET /users/:id/profile: what the viewer may see, or 404 — the same 404 as for a user that does not exist. */
  profileOf(principal: Principal | null, userId: string, prefetched?: Prefetched): ProfileView | Promise<ProfileView> {
    const cached = this.deps.cache.current(userId, prefetched);
    const viewer = cached && this.viewerNow(principal, cached);
    if (cached && viewer) return found(profileFor(viewer, cached));
    return this.visibleProfile(principal, userId, prefetched).then(found);
  }

  /** For every other path that shows a user (file owners, realtime): the profile the viewer may see, or null. */
  async visibleProfile(principal: Principal | Viewer | null, userId: string, prefetched?: Prefetched): Promise<ProfileView | null> {
    if (!UUID.test(userId)) return null;
    const record = await this.record(userId, prefetched);
    if (!record) return null;
    const viewer = await this.viewerFor(principal, record);
    return profileFor(viewer, record);
  }

  /** PATCH /users/me/profile: each field neutralised, counted in characters, then stored. */
  async updateOwnProfile(userId: string, patch: ProfilePatch): Promise<ProfileView> {
    const fields = this.validatePatch(patch);
    if (Object.keys(fields).length === 0) return this.ownProfile(userId);
    // The cached user (GET /auth/me) holds the display name too.
    const alsoAfter = 'display_name' in fields ? () => this.deps.invalidateUser(userId) : undefined;
    const row = await this.applyChange(userId, () => this.deps.profiles.update(userId, fields), alsoAfter);
    if (!row) throw new AppError('not_found', { detail: 'No such user' });
    const record = this.toRecord(row);
    await this.announce(userId, record);
    return profileFor({ userId, admin: false }, record)!;
  }

  /** GET /users?q=&limit=&cursor=: display-name prefix search over the profiles the viewer may see. */
  async search(principal: Principal | null, input: ProfileSearchInput): Promise<Page<ProfileView>> {
    const q = normaliseQuery(input.q);
    const limit = Math.min(Math.max(input.limit ?? DEFAULT_SEARCH_LIMIT, 1), MAX_SEARCH_LIMIT);
    const key = await this.deps.cursorKeys.forList('profiles-search');
    let after: { name: string; id: string } | null = null;
    if (input.cursor) {
      const c = decodeCursor<SearchCursor>(input.cursor, key);
      // A cursor continues the search it came from, nothing else.
      if (c.q !== q || typeof c.n !== 'string' || typeof c.i !== 'string' || !UUID.test(c.i)) throw invalidCursor();
      after = { name: c.n, id: c.i };
    }
    const viewer = await this.viewerFor(principal, null);
    const rows = await this.deps.profiles.search({
      prefix: q,
      after,
      limit: limit + 1,
      viewerId: viewer.userId,
      visibilities: visibilitiesVisibleTo(viewer),
      defaultVisibility: this.defaults.profile_visibility,
    });
    const page = rows.slice(0, limit);
    const items = page.map((row) => profileFor(viewer, this.toRecord(row))).filter((v): v is ProfileView => v !== null);
    const last = page[page.length - 1];
    const next = rows.length > limit && last ? encodeCursor({ q, n: last.sort_name, i: last.id } satisfies SearchCursor, key) : null;
    return { items, next_cursor: next };
  }

  /**
   * Runs a write to a profile (or its privacy) so that no cached copy outlives it: the cache
   * is invalidated before (a store that cannot be written stops the change before it happens:
   * 503) and again after the write.
   */
  async applyChange<T>(userId: string, write: () => Promise<T>, alsoAfter?: () => Promise<void>): Promise<T> {
    try {
      await this.deps.cache.invalidate(userId, { beforeChange: true });
    } catch (err) {
      throw new AppError('kv_unavailable', { detail: 'The profile cache cannot be updated right now', cause: err });
    }
    const result = await write();
    // With `alsoAfter` (the cached user, when the display name changed): at the same moment.
    await Promise.all([
      this.deps.cache.invalidate(userId).catch((err: unknown) => {
        this.deps.logger.error({ err, userId }, 'profile cache not invalidated after a change; it expires within PROFILE_CACHE_TTL');
      }),
      alsoAfter?.().catch((err: unknown) => this.deps.logger.warn({ err, userId }, 'user cache not invalidated')),
    ]);
    return result;
  }

  /**
   * profile.updated for the realtime channel: the owner's view with the privacy it is shown
   * under, so the channel can decide per socket with `profileEventFor` (privacy.ts).
   */
  async announce(userId: string, record?: ProfileRecord): Promise<void> {
    const current = record ?? (await this.record(userId).catch(() => null));
    if (!current) return;
    const data = { ...profileFor({ userId, admin: false }, current)!, privacy: { ...current.privacy } };
    await this.deps.events.publish({ type: 'profile.updated', userId, data });
  }

  /**
   * A sign-in or a refresh moved the user's last_login_at / last_active_at: a new version token
   * makes every cached copy stale, without waiting for the other instances (a copy they hold
   * for at most REDIS_NEAR_CACHE_MS shows the previous times; nothing about visibility changed).
   */
  async activityChanged(userId: string): Promise<void> {
    if (this.deps.cache.enabled) await this.deps.cache.invalidate(userId, { beforeChange: true });
  }

  /** Drops the cached profile (another module changed a user: e-mail, deletion…). */
  async invalidate(userId: string): Promise<void> {
    await this.deps.cache.invalidate(userId);
  }

  /** The cache keys a read of this profile needs: a route reads them ahead, with its rate-limit hit. */
  cacheKeys(userId: string): string[] {
    return UUID.test(userId) ? this.deps.cache.keys(userId) : [];
  }

  /** The stored profile, through the cache (its entry perhaps read ahead: `cacheKeys`). */
  async record(userId: string, prefetched?: Prefetched): Promise<ProfileRecord | null> {
    const cached = await this.deps.cache.lookup(userId, prefetched);
    if (cached.hit) return cached.record;
    const row = await this.deps.profiles.findById(userId);
    if (!row) return null;
    const record = this.toRecord(row);
    await this.deps.cache.fill(userId, cached.version, record);
    return record;
  }

  private toRecord(row: ProfileRow): ProfileRecord {
    const { storage } = this.deps;
    return {
      id: row.id,
      email: row.email,
      // Neutralised again on the way out: names set before this service (at registration) included.
      display_name: row.display_name === null ? null : neutraliseDisplayName(row.display_name),
      bio: row.bio === null ? null : neutraliseBio(row.bio),
      avatar_url: row.avatar_key ? storage.publicUrl(row.avatar_key) : null,
      avatar_thumbnail_url: row.avatar_thumbnail_key ? storage.publicUrl(row.avatar_thumbnail_key) : null,
      created_at: row.created_at.toISOString(),
      updated_at: row.updated_at.toISOString(),
      last_login_at: row.last_login_at?.toISOString() ?? null,
      last_active_at: row.last_active_at?.toISOString() ?? null,
      privacy: completePrivacy(row.privacy, this.defaults),
    };
  }

  /** Signed-in users are asked whether they are admins only when it could change what they see. */
  private async viewerFor(principal: Principal | Viewer | null, record: ProfileRecord | null): Promise<Viewer> {
    const known = this.viewerNow(principal, record);
    if (known) return known;
    const user = principal as Extract<Principal, { kind: 'user' }>;
    const role = await this.deps.profiles.roleOf(user.userId);
    return { userId: user.userId, admin: role === 'admin' };
  }

  /** The viewer, when nothing needs reading to know it (undefined: their role must be looked up). */
  private viewerNow(principal: Principal | Viewer | null, record: ProfileRecord | null): Viewer | undefined {
    if (principal === null) return ANONYMOUS;
    if (!('kind' in principal)) return principal;
    if (principal.kind !== 'user') return ANONYMOUS; // a service token is nobody's session
    const viewer: Viewer = { userId: principal.userId, admin: false };
    if (record && !adminWouldSeeMore(viewer, record)) return viewer;
    const role = principal.cachedUser?.role;
    return role === undefined ? undefined : { userId: principal.userId, admin: role === 'admin' };
  }

  private validatePatch(patch: ProfilePatch): { display_name?: string | null; bio?: string | null } {
    const { maxDisplayNameLength, maxBioLength } = this.deps.config.profiles;
    const errors: FieldError[] = [];
    const fields: { display_name?: string | null; bio?: string | null } = {};
    if (patch.display_name !== undefined) {
      fields.display_name = checkedDisplayName(patch.display_name, maxDisplayNameLength, errors);
    }
    if (patch.bio !== undefined) fields.bio = checkedText('bio', patch.bio, maxBioLength, neutraliseBio, errors);
    if (errors.length) throw new AppError('validation_failed', { errors });
    return fields;
  }
}

/** The search prefix as compared: NFC, lower-cased, trimmed; null for none. */
function normaliseQuery(q: string | undefined): string | null {
  const text = q?.normalize('NFC').trim().toLowerCase() ?? '';
  return text === '' ? null : text;
}

/** A profile the viewer may see, or the 404 that a missing user gets too. */
function found(view: ProfileView | null): ProfileView {
  if (!view) throw new AppError('not_found', { detail: 'No such user' });
  return view;
}
