import { describe, expect, it } from 'vitest';
import { adminWouldSeeMore, ANONYMOUS, profileEventFor, profileFor, visibilitiesVisibleTo, type ProfileRecord, type Viewer } from './privacy.js';

const OWNER = '11111111-1111-4111-8111-111111111111';
const OTHER = '22222222-2222-4222-8222-222222222222';

function record(privacy: Partial<ProfileRecord['privacy']> = {}): ProfileRecord {
  return {
    id: OWNER,
    email: 'owner@example.com',
    display_name: 'Owner',
    bio: 'bio',
    avatar_url: null,
    avatar_thumbnail_url: null,
    created_at: '2024-01-01T00:00:00.000Z',
    updated_at: '2024-01-01T00:00:00.000Z',
    last_login_at: '2024-02-01T00:00:00.000Z',
    last_active_at: '2024-02-02T00:00:00.000Z',
    privacy: { profile_visibility: 'public', show_email: false, show_activity: true, ...privacy },
  };
}

const owner: Viewer = { userId: OWNER, admin: false };
const user: Viewer = { userId: OTHER, admin: false };
const admin: Viewer = { userId: OTHER, admin: true };

describe('profileFor: who sees a profile', () => {
  it.each([
    ['public', ANONYMOUS, true],
    ['public', user, true],
    ['users', ANONYMOUS, false],
    ['users', user, true],
    ['private', ANONYMOUS, false],
    ['private', user, false],
    ['private', owner, true],
    ['private', admin, true],
    ['users', owner, true],
  ] as const)('%s profile, viewer %j → visible %s', (visibility, viewer, visible) => {
    expect(profileFor(viewer, record({ profile_visibility: visibility })) !== null).toBe(visible);
  });
});

describe('profileFor: what is shown', () => {
  it('e-mail only with show_email; activity only with show_activity (absent, not null)', () => {
    const hidden = profileFor(user, record({ show_email: false, show_activity: false }))!;
    expect(hidden).not.toHaveProperty('email');
    expect(hidden).not.toHaveProperty('last_login_at');
    expect(hidden).not.toHaveProperty('last_active_at');
    const shown = profileFor(ANONYMOUS, record({ show_email: true, show_activity: true }))!;
    expect(shown).toMatchObject({ email: 'owner@example.com', last_login_at: '2024-02-01T00:00:00.000Z' });
  });

  it('the owner and admins see everything', () => {
    for (const viewer of [owner, admin]) {
      expect(profileFor(viewer, record({ show_email: false, show_activity: false }))).toMatchObject({ email: 'owner@example.com', last_active_at: expect.any(String) });
    }
  });

  it('never passes the privacy settings themselves through', () => {
    expect(profileFor(owner, record())).not.toHaveProperty('privacy');
  });
});

describe('visibilitiesVisibleTo / adminWouldSeeMore', () => {
  it('anonymous: public; signed in: public and users; admin: all', () => {
    expect(visibilitiesVisibleTo(ANONYMOUS)).toEqual(['public']);
    expect(visibilitiesVisibleTo(user)).toEqual(['public', 'users']);
    expect(visibilitiesVisibleTo(admin)).toEqual(['public', 'users', 'private']);
  });

  it('asks about the admin role only when it could change the answer', () => {
    expect(adminWouldSeeMore(ANONYMOUS, record({ profile_visibility: 'private' }))).toBe(false);
    expect(adminWouldSeeMore(owner, record({ profile_visibility: 'private' }))).toBe(false);
    expect(adminWouldSeeMore(user, record({ show_email: true, show_activity: true }))).toBe(false);
    expect(adminWouldSeeMore(user, record({ show_email: false }))).toBe(true);
    expect(adminWouldSeeMore(user, record({ profile_visibility: 'private', show_email: true }))).toBe(true);
  });
});

describe('profileEventFor (realtime)', () => {
  const payload = (privacy: unknown) => ({ ...profileFor(owner, record())!, privacy });

  it('decides like profileFor, and never passes privacy on', () => {
    expect(profileEventFor(user, payload({ profile_visibility: 'users', show_email: false, show_activity: true }))).toEqual(profileFor(user, record({ profile_visibility: 'users' })));
    expect(profileEventFor(ANONYMOUS, payload({ profile_visibility: 'users', show_email: false, show_activity: true }))).toBeNull();
    expect(profileEventFor(user, payload({ profile_visibility: 'public', show_email: true, show_activity: false }))).not.toHaveProperty('privacy');
  });

  it('a payload without usable privacy is closed to everyone but the owner and admins', () => {
    for (const privacy of [undefined, null, 'public', { profile_visibility: 'everyone', show_email: 'yes' }]) {
      expect(profileEventFor(user, payload(privacy))).toBeNull();
      expect(profileEventFor(admin, payload(privacy))).toMatchObject({ email: 'owner@example.com' });
    }
  });
});
