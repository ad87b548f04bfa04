import { useSyncExternalStore } from 'react';
import { api, ApiError, currentSessionId, login, logout, onSessionEnded, refreshAccessToken, setAccessToken } from './api/client';
import type { User } from './api/types';
import { connectRealtime, disconnectRealtime } from './realtime';
import { navigate } from './router';

/**
 * Who is signed in on this page. Nothing of it is stored by the browser except the HttpOnly
 * refresh cookie: a reload restores the session by refreshing, a new tab does the same.
 */
export type SessionState =
  | { status: 'loading' }
  | { status: 'signed-out'; notice?: string }
  | { status: 'signed-in'; user: User; passwordExpired?: boolean };

let state: SessionState = { status: 'loading' };
const listeners = new Set<() => void>();

function set(next: SessionState): void {
  state = next;
  for (const l of listeners) l();
}

export function useSession(): SessionState {
  return useSyncExternalStore(
    (l) => {
      listeners.add(l);
      return () => listeners.delete(l);
    },
    () => state,
  );
}

export function sessionState(): SessionState {
  return state;
}

/** The user was changed by a page (display name, verified address): keep the header in step. */
export function updateUser(patch: Partial<User>): void {
  if (state.status === 'signed-in') set({ ...state, user: { ...state.user, ...patch } });
}

function signedIn(user: User, passwordExpired = false): void {
  set({ status: 'signed-in', user, passwordExpired });
  connectRealtime({ sessionId: currentSessionId(), onRevoked: () => endLocally('This device was signed out.') });
}

/** Signed out by someone else (another device, an admin, an expired session): no server call. */
function endLocally(notice: string): void {
  if (state.status !== 'signed-in') return;
  disconnectRealtime();
  setAccessToken(null);
  set({ status: 'signed-out', notice });
  const here = window.location.pathname;
  if (!here.startsWith('/u/')) navigate(`/login?next=${encodeURIComponent(here)}`, { replace: true });
}

onSessionEnded(() => endLocally('Your session ended. Please sign in again.'));

/** On start: the cookie, if any, gives a new access token and the user. */
export async function restoreSession(): Promise<void> {
  const tokens = await refreshAccessToken();
  if (!tokens) {
    set({ status: 'signed-out' });
    return;
  }
  try {
    const { user } = await api<{ user: User }>('/auth/me');
    signedIn(user);
  } catch {
    setAccessToken(null);
    set({ status: 'signed-out' });
  }
}

export async function signIn(email: string, password: string): Promise<User> {
  const res = await login<User>(email, password);
  signedIn(res.user, res.password_expired);
  return res.user;
}

export async function signOut(notice = 'You are signed out.'): Promise<void> {
  disconnectRealtime();
  await logout().catch(() => undefined);
  set({ status: 'signed-out', notice });
  navigate('/login', { replace: true });
}

export async function signOutEverywhere(): Promise<void> {
  // Closed first: this page's own session.revoked event must not race the answer below.
  disconnectRealtime();
  try {
    await api('/auth/logout-all', { method: 'POST' });
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) {
      if (state.status === 'signed-in') signedIn(state.user, state.passwordExpired);
      throw err;
    }
  }
  setAccessToken(null);
  set({ status: 'signed-out', notice: 'You are signed out on every device.' });
  navigate('/login', { replace: true });
}
