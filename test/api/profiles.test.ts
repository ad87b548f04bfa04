import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DomainEvent } from '../../src/modules/events/domain-events.js';
import { bearer, expectProblem, makeAdmin, signedInUser, signIn, type SignedIn } from '../helpers/auth.js';
import { BACKEND } from '../helpers/services.js';
import { createTestApp, type TestApp } from '../helpers/test-app.js';

// Fast password hashing and no rate limits in the way (the limits have their own test below).
const ENV = { RATE_LIMIT_ENABLED: 'false', ARGON2_MEMORY_KIB: '8192', ARGON2_ITERATIONS: '1' };

interface Profile {
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

interface Page {
  items: Profile[];
  next_cursor: string | null;
}

function patchProfile(t: TestApp, token: string, payload: unknown) {
  return t.app.inject({ method: 'PATCH', url: '/api/v1/users/me/profile', headers: bearer(token), payload: payload as Record<string, unknown> });
}

function patchPreferences(t: TestApp, token: string, payload: unknown) {
  return t.app.inject({ method: 'PATCH', url: '/api/v1/users/me/preferences', headers: bearer(token), payload: payload as Record<string, unknown> });
}

function profileOf(t: TestApp, id: string, token?: string) {
  return t.app.inject({ url: `/api/v1/users/${id}/profile`, headers: token ? bearer(token) : {} });
}

async function ownProfile(t: TestApp, token: string): Promise<Profile> {
  const res = await t.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(token) });
  expect(res.statusCode, res.body).toBe(200);
  return res.json<Profile>();
}

async function setPrivacy(t: TestApp, token: string, privacy: Record<string, unknown>) {
  const res = await patchPreferences(t, token, { privacy });
  expect(res.statusCode, res.body).toBe(200);
}

function search(t: TestApp, query: string, token?: string) {
  return t.app.inject({ url: `/api/v1/users?${query}`, headers: token ? bearer(token) : {} });
}

describe(`profiles (${BACKEND})`, () => {
  let t: TestApp;
  let ann: SignedIn;
  let bob: SignedIn;
  beforeAll(async () => {
    t = await createTestApp({ env: ENV });
    ann = await signedInUser(t, { displayName: 'Ann Original' });
    bob = await signedInUser(t);
  });
  afterAll(() => t?.close());

  describe('own profile', () => {
    it('GET /users/me/profile needs a token: 401 with WWW-Authenticate', async () => {
      const res = await t.app.inject('/api/v1/users/me/profile');
      expectProblem(res, 401, 'unauthorized');
      expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
    });

    it('the owner sees everything: e-mail and activity, whatever privacy says', async () => {
      await setPrivacy(t, ann.accessToken, { show_email: false, show_activity: false, profile_visibility: 'private' });
      const me = await ownProfile(t, ann.accessToken);
      expect(me).toMatchObject({ id: ann.id, email: ann.email, display_name: 'Ann Original', bio: null, avatar_url: null });
      expect(me.last_login_at).toEqual(expect.any(String));
      expect(me).toHaveProperty('last_active_at');
      await setPrivacy(t, ann.accessToken, { show_email: false, show_activity: true, profile_visibility: 'public' });
    });

    it('PATCH sets display name and bio, answers the new profile and says no-store', async () => {
      const res = await patchProfile(t, ann.accessToken, { display_name: '  Ann   Lee ', bio: 'Line one\r\n\r\n\r\n\r\nLine two' });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toMatchObject({ display_name: 'Ann Lee', bio: 'Line one\n\nLine two', email: ann.email });
      expect(res.headers['cache-control']).toBe('no-store');
      expect((await ownProfile(t, ann.accessToken)).display_name).toBe('Ann Lee');
    });

    it('PATCH publishes profile.updated with the new profile', async () => {
      const seen: DomainEvent[] = [];
      const stop = await t.container.events.subscribe((e) => seen.push(e));
      try {
        await patchProfile(t, ann.accessToken, { bio: 'evented' });
        await expect.poll(() => seen.findLast((e) => e.type === 'profile.updated' && e.userId === ann.id)?.data.bio).toBe('evented');
        // with the privacy it is shown under, for the realtime channel's per-socket decision
        expect(seen.findLast((e) => e.type === 'profile.updated')?.data.privacy).toEqual({ profile_visibility: 'public', show_email: false, show_activity: true });
      } finally {
        await stop();
      }
    });

    it('HTML is neutralised to plain text: tags dropped, stray angle brackets made harmless', async () => {
      const res = await patchProfile(t, bob.accessToken, {
        display_name: '<b>Bob</b> <img src=x onerror="alert(1)">Stone',
        bio: 'I <3 cats & "dogs"<script>steal()</script><iframe src="//evil"></iframe>\n<a href="javascript:x">link</a>',
      });
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<Profile>();
      expect(body.display_name).toBe('Bob Stone');
      expect(body.bio).toBe('I ＜3 cats & "dogs"\nlink');
      expect(res.body).not.toMatch(/<|>|\\u003c/i);
    });

    it('control and bidi-override characters are removed; lengths count characters, not bytes', async () => {
      const res = await patchProfile(t, bob.accessToken, { display_name: 'Bob\u0000\u0007 \u202eevil\u202c\u2066x\u2069\u200b' });
      expect(res.json<Profile>().display_name).toBe('Bob evilx');
      // 100 characters of 4 UTF-8 bytes each (400 bytes): allowed
      const emoji = '😀'.repeat(100);
      const ok = await patchProfile(t, bob.accessToken, { display_name: emoji });
      expect(ok.statusCode, ok.body).toBe(200);
      expect(ok.json<Profile>().display_name).toBe(emoji);
      const over = await patchProfile(t, bob.accessToken, { display_name: 'é'.repeat(101) });
      expect(expectProblem(over, 422, 'validation_failed').errors).toEqual([{ field: 'display_name', message: 'must be at most 100 characters' }]);
      expect((await patchProfile(t, bob.accessToken, { bio: 'ß'.repeat(500) })).statusCode).toBe(200);
      expectProblem(await patchProfile(t, bob.accessToken, { bio: 'ß'.repeat(501) }), 422, 'validation_failed');
    });

    it.each([
      ['10,000 characters', 'x'.repeat(10_000), 'must be at most 100 characters'],
      ['only <script> tags', '<script>alert("owned")</script><script src="//evil.example/x.js"></script>', 'must contain visible text'],
      ['only control characters', '\u0000\u0001\u0002\u001b\u007f\u0085\u202e\t\n', 'must contain visible text'],
    ])('a display name of %s: 422 naming display_name, nothing changed', async (_what, name, message) => {
      const before = await ownProfile(t, ann.accessToken);
      const res = await patchProfile(t, ann.accessToken, { display_name: name, bio: 'should not be saved' });
      const body = expectProblem(res, 422, 'validation_failed');
      expect(body.errors).toEqual([{ field: 'display_name', message: expect.stringContaining(message) }]);
      expect(await ownProfile(t, ann.accessToken)).toEqual(before);
    });

    it('unknown keys, wrong types and huge bodies are refused', async () => {
      const unknown = expectProblem(await patchProfile(t, ann.accessToken, { display_name: 'Ann', role: 'admin' }), 422, 'validation_failed');
      expect(unknown.errors).toEqual([{ field: 'role', message: 'is not a known field' }]);
      const wrong = expectProblem(await patchProfile(t, ann.accessToken, { bio: 42 }), 422, 'validation_failed');
      expect((wrong.errors as { field: string }[]).map((e) => e.field)).toContain('bio');
      expectProblem(await patchProfile(t, ann.accessToken, { bio: 'x'.repeat(1_000_000) }), 413, 'payload_too_large');
      const res = await t.app.inject({ method: 'PATCH', url: '/api/v1/users/me/profile', headers: { ...bearer(ann.accessToken), 'content-type': 'text/plain' }, payload: 'hi' });
      expectProblem(res, 415, 'unsupported_media_type');
    });

    it('null clears the bio and the display name', async () => {
      const res = await patchProfile(t, bob.accessToken, { bio: null, display_name: null });
      expect(res.json()).toMatchObject({ bio: null, display_name: null });
      await patchProfile(t, bob.accessToken, { display_name: 'Bob Stone' });
    });

    it('the routes are in the OpenAPI document', async () => {
      const doc = (await t.app.inject('/openapi.json')).json<{ paths: Record<string, unknown> }>();
      for (const p of ['/api/v1/users/me/profile', '/api/v1/users/{id}/profile', '/api/v1/users', '/api/v1/users/me/preferences', '/api/v1/users/me/avatar']) {
        expect(doc.paths).toHaveProperty([p]);
      }
    });

    it('a display name stored before neutralising (registration) comes out neutralised', async () => {
      const eve = await signedInUser(t, { displayName: '<i>Eve</i> <svg onload=alert(1)>' });
      expect((await ownProfile(t, eve.accessToken)).display_name).toBe('Eve');
    });
  });

  describe('privacy: GET /users/:id/profile', () => {
    let carol: SignedIn;
    let admin: SignedIn;
    beforeAll(async () => {
      carol = await signedInUser(t, { displayName: 'Carol' });
      admin = await signedInUser(t, { displayName: 'Admin' });
      await makeAdmin(t, admin.id);
    });

    it('public (the default): anyone, without a token; e-mail hidden (DEFAULT_SHOW_EMAIL=false), activity shown', async () => {
      const res = await profileOf(t, carol.id);
      expect(res.statusCode, res.body).toBe(200);
      const body = res.json<Profile>();
      expect(body).toMatchObject({ id: carol.id, display_name: 'Carol' });
      expect(body).not.toHaveProperty('email');
      expect(body.last_login_at).toEqual(expect.any(String));
      expect(res.body).not.toContain(carol.email);
    });

    it('show_email shows the e-mail; show_activity=false hides both activity times', async () => {
      await setPrivacy(t, carol.accessToken, { show_email: true, show_activity: false });
      const body = (await profileOf(t, carol.id)).json<Profile>();
      expect(body.email).toBe(carol.email);
      expect(body).not.toHaveProperty('last_login_at');
      expect(body).not.toHaveProperty('last_active_at');
      await setPrivacy(t, carol.accessToken, { show_email: false, show_activity: true });
    });

    it('one cached profile answers each viewer their own view, in any order (views are shared per cache entry)', async () => {
      // Owner, stranger, anonymous, owner again: the owner's whole view, made and serialized
      // once for the cached entry, must never be what the others get, nor theirs the owner's.
      for (const token of [carol.accessToken, bob.accessToken, undefined, carol.accessToken, undefined, admin.accessToken]) {
        const res = await profileOf(t, carol.id, token);
        expect(res.statusCode).toBe(200);
        expect(res.headers['content-type']).toBe('application/json; charset=utf-8');
        const sees = token === carol.accessToken || token === admin.accessToken;
        if (sees) expect(res.json<Profile>().email).toBe(carol.email);
        else expect(res.body).not.toContain(carol.email);
      }
      const own = await t.app.inject({ url: '/api/v1/users/me/profile', headers: { authorization: `Bearer ${carol.accessToken}` } });
      expect(own.json<Profile>().email).toBe(carol.email);
      expect(own.headers['content-type']).toBe('application/json; charset=utf-8');
    });

    it('users: signed-in users only; anonymous gets the 404 of a missing user', async () => {
      await setPrivacy(t, carol.accessToken, { profile_visibility: 'users' });
      expectProblem(await profileOf(t, carol.id), 404, 'not_found');
      expect((await profileOf(t, carol.id, bob.accessToken)).statusCode).toBe(200);
      await setPrivacy(t, carol.accessToken, { profile_visibility: 'public' });
    });

    it("private: another user's request is a 404 indistinguishable from a missing user; owner and admin see it", async () => {
      await setPrivacy(t, carol.accessToken, { profile_visibility: 'private' });
      const hidden = await profileOf(t, carol.id, bob.accessToken);
      const missing = await profileOf(t, '0b7f3a52-55e4-4c4e-9f4b-2f1d1b0c9a11', bob.accessToken);
      const strip = (r: typeof hidden) => {
        const { request_id: _r, instance: _i, ...rest } = r.json<Record<string, unknown>>();
        return rest;
      };
      expectProblem(hidden, 404, 'not_found');
      expect(strip(hidden)).toEqual(strip(missing));
      expect(hidden.headers['content-length']).toBe(missing.headers['content-length']);
      expectProblem(await profileOf(t, carol.id), 404, 'not_found');
      expect((await profileOf(t, carol.id, carol.accessToken)).json<Profile>().email).toBe(carol.email);
      const asAdmin = await profileOf(t, carol.id, admin.accessToken);
      expect(asAdmin.statusCode).toBe(200);
      expect(asAdmin.json<Profile>()).toMatchObject({ email: carol.email, last_login_at: expect.any(String) });
      await setPrivacy(t, carol.accessToken, { profile_visibility: 'public' });
    });

    it('an id that is not a UUID is a 404 too', async () => {
      expectProblem(await profileOf(t, 'not-a-uuid'), 404, 'not_found');
      expectProblem(await profileOf(t, "'; drop table users; --"), 404, 'not_found');
      // longer than any UUID: still the answer a missing user gets, not a validation error
      expectProblem(await profileOf(t, `${ann.id}-${'0'.repeat(40)}`), 404, 'not_found');
    });
  });

  describe('cache', () => {
    it('reads are cached in the key-value store; every change through the API invalidates them', async () => {
      const dana = await signedInUser(t, { displayName: 'Dana Cached' });
      expect((await profileOf(t, dana.id)).json<Profile>().display_name).toBe('Dana Cached');
      // Behind the service's back: the cached copy is still served…
      await t.container.database.db.updateTable('users').set({ bio: 'changed in SQL' }).where('id', '=', dana.id).execute();
      expect((await profileOf(t, dana.id)).json<Profile>().bio).toBeNull();
      // …until a change through the API, which any read sees at once.
      await patchProfile(t, dana.accessToken, { display_name: 'Dana Fresh' });
      expect((await profileOf(t, dana.id)).json<Profile>()).toMatchObject({ display_name: 'Dana Fresh', bio: 'changed in SQL' });
    });

    it('a sign-in, and a refresh that moves last_active_at, are seen at once though the profile was cached', async () => {
      const fay = await signedInUser(t, { displayName: 'Fay' });
      const times = async () => {
        const profile = (await profileOf(t, fay.id)).json<Profile>();
        return [profile.last_login_at, profile.last_active_at];
      };
      const before = await times(); // cached from here on
      await new Promise((resolve) => setTimeout(resolve, 5));
      await signIn(t, fay);
      const signedIn = await times();
      expect(signedIn[0]).not.toBe(before[0]);
      expect(new Date(signedIn[0]!).getTime()).toBeGreaterThan(new Date(before[0]!).getTime());
      // A refresh moves last_active_at when it is over a minute old (set back behind the cache's back).
      await t.container.database.db.updateTable('users').set({ last_active_at: new Date(Date.now() - 5 * 60_000) }).where('id', '=', fay.id).execute();
      expect(await times()).toEqual(signedIn); // still the cached copy
      const refreshed = await t.app.inject({ method: 'POST', url: '/api/v1/auth/refresh', payload: { refresh_token: fay.refreshToken } });
      expect(refreshed.statusCode, refreshed.body).toBe(200);
      const [, activeAt] = await times();
      expect(activeAt).not.toBe(signedIn[1]);
      expect(new Date(activeAt!).getTime()).toBeGreaterThan(Date.now() - 60_000);
    });

    it('a privacy change is in force on the very next request, with the profile cached', async () => {
      const erin = await signedInUser(t, { displayName: 'Erin' });
      expect((await profileOf(t, erin.id)).statusCode).toBe(200);
      await setPrivacy(t, erin.accessToken, { profile_visibility: 'private' });
      expectProblem(await profileOf(t, erin.id), 404, 'not_found');
      await setPrivacy(t, erin.accessToken, { profile_visibility: 'public' });
      expect((await profileOf(t, erin.id)).statusCode).toBe(200);
    });
  });

  describe('search: GET /users?q=', () => {
    let viewer: SignedIn;
    let hiddenId: string;
    let usersOnlyId: string;
    beforeAll(async () => {
      viewer = await signedInUser(t, { displayName: 'Zed Viewer' });
      const names = ['Zoe Alpha', 'zoe beta', 'ZOE Gamma', 'Zoë Umlaut', 'Zoey Delta', 'Zora Epsilon', 'Zoe_Under', 'Zoe%Percent'];
      for (const name of names) await signedInUser(t, { displayName: name });
      const hidden = await signedInUser(t, { displayName: 'Zoe Private' });
      await setPrivacy(t, hidden.accessToken, { profile_visibility: 'private' });
      hiddenId = hidden.id;
      const usersOnly = await signedInUser(t, { displayName: 'Zoe Members' });
      await setPrivacy(t, usersOnly.accessToken, { profile_visibility: 'users' });
      usersOnlyId = usersOnly.id;
    });

    async function allPages(query: string, token?: string): Promise<Profile[]> {
      const items: Profile[] = [];
      let cursor: string | null = null;
      for (let i = 0; i < 20; i++) {
        const res = await search(t, `${query}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, token);
        expect(res.statusCode, res.body).toBe(200);
        const page = res.json<Page>();
        items.push(...page.items);
        cursor = page.next_cursor;
        if (!cursor) return items;
      }
      throw new Error('too many pages');
    }

    it('prefix, case-insensitive, in name order; privacy decides who is in the list', async () => {
      const anonymous = (await allPages('q=zoe&limit=2')).map((p) => p.display_name);
      expect(anonymous).toEqual(['Zoe Alpha', 'zoe beta', 'ZOE Gamma', 'Zoe%Percent', 'Zoe_Under', 'Zoey Delta']);
      const signedIn = await allPages('q=ZOE&limit=3', viewer.accessToken);
      expect(signedIn.map((p) => p.id)).toContain(usersOnlyId);
      expect(signedIn.map((p) => p.id)).not.toContain(hiddenId);
      for (const p of signedIn) expect(p).not.toHaveProperty('email');
    });

    it('LIKE wildcards in q are literal', async () => {
      expect((await allPages('q=zoe_')).map((p) => p.display_name)).toEqual(['Zoe_Under']);
      expect((await allPages('q=zoe%25')).map((p) => p.display_name)).toEqual(['Zoe%Percent']);
    });

    it('admins find private profiles; the owner finds their own', async () => {
      const admin = await signedInUser(t, { displayName: 'Search Admin' });
      await makeAdmin(t, admin.id);
      expect((await allPages('q=zoe%20p', admin.accessToken)).map((p) => p.id)).toEqual([hiddenId]);
    });

    it('pages do not overlap and end with next_cursor null', async () => {
      const all = await allPages('q=z&limit=1');
      expect(new Set(all.map((p) => p.id)).size).toBe(all.length);
      expect(all.length).toBeGreaterThanOrEqual(7);
    });

    it('a cursor that was tampered with, forged, or used for another search is a 422 naming cursor', async () => {
      const first = (await search(t, 'q=zoe&limit=2')).json<Page>();
      const cursor = first.next_cursor!;
      const [body, tag] = cursor.split('.') as [string, string];
      const decoded = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
      const edited = `${Buffer.from(JSON.stringify({ ...decoded, n: 'a' })).toString('base64url')}.${tag}`;
      const flipped = `${body}.${tag.slice(0, -2)}${tag.endsWith('AA') ? 'BB' : 'AA'}`;
      for (const bad of [edited, flipped, 'garbage', `${body}`, `${body}.${tag}.x`]) {
        const res = await search(t, `q=zoe&cursor=${encodeURIComponent(bad)}`);
        expect(expectProblem(res, 422, 'validation_failed').errors).toEqual([{ field: 'cursor', message: 'is invalid' }]);
      }
      expectProblem(await search(t, `q=zor&cursor=${encodeURIComponent(cursor)}`), 422, 'validation_failed');
    });

    it('bad limits and unknown parameters are 422', async () => {
      expectProblem(await search(t, 'q=zoe&limit=0'), 422, 'validation_failed');
      expectProblem(await search(t, 'q=zoe&limit=101'), 422, 'validation_failed');
      expectProblem(await search(t, 'q=zoe&sort=email'), 422, 'validation_failed');
    });
  });

  describe('preferences', () => {
    it('a new user has the seed defaults', async () => {
      const res = await t.app.inject({ url: '/api/v1/users/me/preferences', headers: bearer(bob.accessToken) });
      expect(res.statusCode, res.body).toBe(200);
      expect(res.json()).toEqual({
        theme: 'light',
        language: 'en',
        notifications: { email: true, push: false, task_reminders: true, task_assignments: true },
        privacy: { profile_visibility: 'public', show_email: false, show_activity: true },
      });
    });

    it('PATCH merges member by member and publishes preferences.updated', async () => {
      const seen: DomainEvent[] = [];
      const stop = await t.container.events.subscribe((e) => seen.push(e));
      try {
        expect((await patchPreferences(t, bob.accessToken, { theme: 'dark', notifications: { push: true } })).statusCode).toBe(200);
        const res = await patchPreferences(t, bob.accessToken, { language: 'pt-br', notifications: { email: false } });
        expect(res.json()).toEqual({
          theme: 'dark',
          language: 'pt-BR',
          notifications: { email: false, push: true, task_reminders: true, task_assignments: true },
          privacy: { profile_visibility: 'public', show_email: false, show_activity: true },
        });
        await expect.poll(() => seen.filter((e) => e.type === 'preferences.updated' && e.userId === bob.id).length).toBe(2);
      } finally {
        await stop();
      }
    });

    it('two PATCHes at once both land (the merge is one statement)', async () => {
      const u = await signedInUser(t);
      const results = await Promise.all([
        patchPreferences(t, u.accessToken, { notifications: { push: true } }),
        patchPreferences(t, u.accessToken, { notifications: { email: false } }),
        patchPreferences(t, u.accessToken, { privacy: { show_email: true } }),
      ]);
      for (const r of results) expect(r.statusCode, r.body).toBe(200);
      const res = await t.app.inject({ url: '/api/v1/users/me/preferences', headers: bearer(u.accessToken) });
      expect(res.json()).toMatchObject({ notifications: { push: true, email: false }, privacy: { show_email: true } });
    });

    it('language must be a BCP 47 tag; it is stored canonical', async () => {
      expect((await patchPreferences(t, bob.accessToken, { language: 'ZH-hant-tw' })).json()).toMatchObject({ language: 'zh-Hant-TW' });
      for (const bad of ['english please', 'e', '12', 'en_US', 'x-private', 'a'.repeat(40)]) {
        const body = expectProblem(await patchPreferences(t, bob.accessToken, { language: bad }), 422, 'validation_failed');
        expect((body.errors as { field: string }[])[0]!.field).toBe('language');
      }
    });

    it.each([
      ['an unknown top-level key', { colour: 'red' }, 'colour'],
      ['an unknown notification', { notifications: { sms: true } }, 'notifications.sms'],
      ['an unknown privacy member', { privacy: { show_phone: true } }, 'privacy.show_phone'],
      ['a theme that is not one', { theme: 'neon' }, 'theme'],
      ['a string for a boolean', { notifications: { email: 'yes' } }, 'notifications.email'],
      ['a number for a visibility', { privacy: { profile_visibility: 1 } }, 'privacy.profile_visibility'],
      ['null for an object', { privacy: null }, 'privacy'],
      ['an array body', [], '(body)'],
    ])('%s: 422 naming the field, nothing stored', async (_what, payload, field) => {
      const before = (await t.app.inject({ url: '/api/v1/users/me/preferences', headers: bearer(bob.accessToken) })).json();
      const body = expectProblem(await patchPreferences(t, bob.accessToken, payload), 422, 'validation_failed');
      expect((body.errors as { field: string }[]).map((e) => e.field)).toContain(field);
      expect((await t.app.inject({ url: '/api/v1/users/me/preferences', headers: bearer(bob.accessToken) })).json()).toEqual(before);
    });

    it('a 1 MB body is refused with 413 before it is parsed', async () => {
      const payload = JSON.stringify({ theme: 'dark', padding: 'x'.repeat(1_000_000) });
      const res = await t.app.inject({ method: 'PATCH', url: '/api/v1/users/me/preferences', headers: { ...bearer(bob.accessToken), 'content-type': 'application/json' }, payload });
      expectProblem(res, 413, 'payload_too_large');
    });

    it('needs a token', async () => {
      expectProblem(await t.app.inject('/api/v1/users/me/preferences'), 401, 'unauthorized');
      expectProblem(await t.app.inject({ method: 'PATCH', url: '/api/v1/users/me/preferences', payload: { theme: 'dark' } }), 401, 'unauthorized');
    });
  });
});

describe(`profile settings (${BACKEND})`, () => {
  it('DEFAULT_PROFILE_VISIBILITY / DEFAULT_SHOW_EMAIL apply to users who never set privacy', async () => {
    const t = await createTestApp({ env: { ...ENV, DEFAULT_PROFILE_VISIBILITY: 'users', DEFAULT_SHOW_EMAIL: 'true', DEFAULT_SHOW_ACTIVITY: 'false' } });
    try {
      const a = await signedInUser(t, { displayName: 'Quiet' });
      const b = await signedInUser(t);
      expectProblem(await profileOf(t, a.id), 404, 'not_found');
      const seen = (await profileOf(t, a.id, b.accessToken)).json<Profile>();
      expect(seen.email).toBe(a.email);
      expect(seen).not.toHaveProperty('last_login_at');
      expect((await search(t, 'q=quiet')).json<Page>().items).toEqual([]);
      expect((await search(t, 'q=quiet', b.accessToken)).json<Page>().items).toHaveLength(1);
      const prefs = await t.app.inject({ url: '/api/v1/users/me/preferences', headers: bearer(a.accessToken) });
      expect(prefs.json()).toMatchObject({ privacy: { profile_visibility: 'users', show_email: true, show_activity: false } });
    } finally {
      await t.close();
    }
  });

  it('a user who set only some preferences keeps following the DEFAULT_* settings for the rest', async () => {
    const noCache = { ...ENV, PROFILE_CACHE_TTL: '0' };
    const a = await createTestApp({ env: noCache });
    let b: TestApp | undefined;
    try {
      const u = await signedInUser(a, { displayName: 'Themed' });
      // The first PATCH (the row is created) sets the theme and one privacy member only.
      expect((await patchPreferences(a, u.accessToken, { theme: 'dark', privacy: { show_email: true } })).statusCode).toBe(200);
      expect((await profileOf(a, u.id)).statusCode).toBe(200); // public: the default here
      // The operator changes the defaults (another instance, the same database).
      b = await createTestApp({ sameStoresAs: a, env: { ...noCache, DEFAULT_PROFILE_VISIBILITY: 'private', DEFAULT_SHOW_ACTIVITY: 'false' } });
      const prefs = (await b.app.inject({ url: '/api/v1/users/me/preferences', headers: bearer(u.accessToken) })).json();
      expect(prefs).toMatchObject({ theme: 'dark', privacy: { profile_visibility: 'private', show_email: true, show_activity: false } });
      expectProblem(await profileOf(b, u.id), 404, 'not_found');
      const own = (await b.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(u.accessToken) })).json<Profile>();
      expect(own.email).toBe(u.email);
    } finally {
      await b?.close();
      await a.close();
    }
  });

  it('PROFILE_UPDATE_RATE_LIMIT counts profile and preference updates per user: 429 with Retry-After', async () => {
    const t = await createTestApp({ env: { ...ENV, RATE_LIMIT_ENABLED: 'true', PROFILE_UPDATE_RATE_LIMIT: '2', RATE_LIMIT_REGISTER: '100/minute', RATE_LIMIT_LOGIN: '100/minute' } });
    try {
      const u = await signedInUser(t);
      expect((await patchProfile(t, u.accessToken, { bio: 'one' })).statusCode).toBe(200);
      const second = await patchPreferences(t, u.accessToken, { theme: 'dark' });
      expect(second.statusCode).toBe(200);
      expect(second.headers['ratelimit-limit']).toBe('2');
      const third = await patchProfile(t, u.accessToken, { bio: 'three' });
      expectProblem(third, 429, 'rate_limited');
      expect(Number(third.headers['retry-after'])).toBeGreaterThan(0);
      expect((await ownProfile(t, u.accessToken)).bio).toBe('one');
      // reads are not profile updates
      expect((await t.app.inject({ url: '/api/v1/users/me/profile', headers: bearer(u.accessToken) })).statusCode).toBe(200);
    } finally {
      await t.close();
    }
  });
});

describe(`profiles on two instances (${BACKEND})`, () => {
  let a: TestApp;
  let b: TestApp;
  beforeAll(async () => {
    a = await createTestApp({ env: ENV });
    b = await createTestApp({ sameStoresAs: a });
  });
  afterAll(async () => {
    await b?.close();
    await a?.close();
  });

  it('a privacy change on A is in force on B at the next request, though B had the profile cached', async () => {
    const u = await signedInUser(a, { displayName: 'Twin' });
    const other = await signedInUser(a);
    expect((await profileOf(b, u.id)).statusCode).toBe(200); // cached on B's side
    await setPrivacy(a, u.accessToken, { profile_visibility: 'private' });
    expectProblem(await profileOf(b, u.id), 404, 'not_found');
    expectProblem(await profileOf(b, u.id, other.accessToken), 404, 'not_found');
    await setPrivacy(b, u.accessToken, { profile_visibility: 'users' });
    expectProblem(await profileOf(a, u.id), 404, 'not_found');
    expect((await profileOf(a, u.id, other.accessToken)).statusCode).toBe(200);
  });

  it('a profile change on one instance invalidates the cache on both', async () => {
    const u = await signedInUser(a, { displayName: 'Before' });
    expect((await profileOf(a, u.id)).json<Profile>().display_name).toBe('Before');
    expect((await profileOf(b, u.id)).json<Profile>().display_name).toBe('Before');
    await patchProfile(b, u.accessToken, { display_name: 'After', bio: 'from B' });
    expect((await profileOf(a, u.id)).json<Profile>()).toMatchObject({ display_name: 'After', bio: 'from B' });
    expect((await profileOf(b, u.id)).json<Profile>()).toMatchObject({ display_name: 'After', bio: 'from B' });
    expect((await ownProfile(a, u.accessToken)).display_name).toBe('After');
  });

  it('a cursor made on one instance is accepted by the other', async () => {
    for (const n of ['Twain One', 'Twain Two', 'Twain Three']) await signedInUser(a, { displayName: n });
    const first = (await search(a, 'q=twain&limit=1')).json<Page>();
    const second = await search(b, `q=twain&limit=1&cursor=${encodeURIComponent(first.next_cursor!)}`);
    expect(second.statusCode, second.body).toBe(200);
    expect(second.json<Page>().items[0]!.display_name).not.toBe(first.items[0]!.display_name);
  });
});
