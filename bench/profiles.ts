/**
 * Issue 5's profile reads, as same-bytes scenarios (wired into SCENARIOS in scenarios.ts):
 * an anonymous read of a public profile, and the owner's own profile with a bearer token.
 * The profile has a display name and a bio, so the answer is the size a real one is.
 */
import { signUp, type Account } from './auth.js';
import type { LoadRequest } from './load.js';

async function ok(res: Response): Promise<Record<string, unknown>> {
  const body = (await res.json()) as Record<string, unknown>;
  if (!res.ok) throw new Error(`${res.status} ${JSON.stringify(body)}`);
  return body;
}

/** A signed-up user with a filled-in profile, visible to anyone; returns the account and its id. */
export async function userWithPublicProfile(baseUrl: string): Promise<Account & { id: string }> {
  const account = await signUp(baseUrl);
  const auth = { authorization: `Bearer ${account.accessToken}`, 'content-type': 'application/json' };
  const profile = await ok(
    await fetch(`${baseUrl}/api/v1/users/me/profile`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ display_name: 'Ada Benchmark', bio: 'Writes benchmarks for a living; likes ratios more than absolute numbers, and interleaved runs most of all.' }),
    }),
  );
  await ok(
    await fetch(`${baseUrl}/api/v1/users/me/preferences`, {
      method: 'PATCH',
      headers: auth,
      body: JSON.stringify({ privacy: { profile_visibility: 'public', show_activity: true } }),
    }),
  );
  return { ...account, id: String(profile.id) };
}

export async function publicProfileRequest(baseUrl: string): Promise<LoadRequest> {
  const user = await userWithPublicProfile(baseUrl);
  return { path: `/api/v1/users/${user.id}/profile` };
}

export async function ownProfileRequest(baseUrl: string): Promise<LoadRequest> {
  const user = await userWithPublicProfile(baseUrl);
  return { path: '/api/v1/users/me/profile', headers: { authorization: `Bearer ${user.accessToken}` } };
}
