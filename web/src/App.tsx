import { lazy, Suspense, useEffect, type ComponentType } from 'react';
import { api } from './api/client';
import type { Preferences, User } from './api/types';
import { FileIcon, LogoIcon, LogoutIcon, SettingsIcon, ShieldIcon, UserIcon, UsersIcon } from './components/Icons';
import { Loading } from './components/Page';
import { NotFound } from './pages/NotFound';
import { SignIn } from './pages/SignIn';
import { onRealtimeEvent } from './realtime';
import { Link, match, navigate, safeNext, useLocation } from './router';
import { signOut, useSession } from './session';
import { applyTheme } from './theme';

// The sign-in page ships with the first load; every other page is its own chunk.
const SignUp = lazy(() => import('./pages/SignUp'));
const VerifyEmail = lazy(() => import('./pages/VerifyEmail'));
const ForgotPassword = lazy(() => import('./pages/ForgotPassword'));
const ResetPassword = lazy(() => import('./pages/ResetPassword'));
const Profile = lazy(() => import('./pages/Profile'));
const PreferencesPage = lazy(() => import('./pages/Preferences'));
const Security = lazy(() => import('./pages/Security'));
const Files = lazy(() => import('./pages/Files'));
const PublicProfile = lazy(() => import('./pages/PublicProfile'));
const AdminUsers = lazy(() => import('./pages/AdminUsers'));

/** guest: only signed out (signed-in people go on); user/admin: signed in; any: both. */
type Access = 'guest' | 'user' | 'admin' | 'any';

interface Route {
  path: string;
  access: Access;
  page: ComponentType<{ params: Record<string, string> }>;
}

const ROUTES: Route[] = [
  { path: '/login', access: 'guest', page: SignIn },
  { path: '/signup', access: 'guest', page: SignUp },
  { path: '/forgot-password', access: 'guest', page: ForgotPassword },
  { path: '/verify-email', access: 'any', page: VerifyEmail },
  { path: '/reset-password', access: 'any', page: ResetPassword },
  { path: '/profile', access: 'user', page: Profile },
  { path: '/preferences', access: 'user', page: PreferencesPage },
  { path: '/security', access: 'user', page: Security },
  { path: '/files', access: 'user', page: Files },
  { path: '/admin/users', access: 'admin', page: AdminUsers },
  { path: '/u/:id', access: 'any', page: PublicProfile },
];

function Header({ user, signedOut }: { user: User | null; signedOut: boolean }) {
  return (
    <header className="site-header">
      <div className="site-header-inner">
        <Link to={user ? '/profile' : '/login'} className="brand" aria-current={undefined}>
          <LogoIcon />
          Tessera
        </Link>
        {signedOut && (
          <nav aria-label="Account">
            <ul className="nav">
              <li>
                <Link to="/login">Sign in</Link>
              </li>
            </ul>
          </nav>
        )}
        {user && (
          <nav aria-label="Account">
            <ul className="nav">
              <li>
                <Link to="/profile">
                  <UserIcon />
                  Profile
                </Link>
              </li>
              <li>
                <Link to="/preferences">
                  <SettingsIcon />
                  Preferences
                </Link>
              </li>
              <li>
                <Link to="/security">
                  <ShieldIcon />
                  Security
                </Link>
              </li>
              <li>
                <Link to="/files">
                  <FileIcon />
                  Files
                </Link>
              </li>
              {user.role === 'admin' && (
                <li>
                  <Link to="/admin/users">
                    <UsersIcon />
                    Users
                  </Link>
                </li>
              )}
              <li>
                <button type="button" onClick={() => void signOut()}>
                  <LogoutIcon />
                  Sign out
                </button>
              </li>
            </ul>
          </nav>
        )}
      </div>
    </header>
  );
}

function Redirect({ to }: { to: string }) {
  useEffect(() => navigate(to, { replace: true }), [to]);
  return null;
}

function Routed() {
  const { path, query } = useLocation();
  const session = useSession();
  const signedIn = session.status === 'signed-in';

  if (path === '/') {
    if (session.status === 'loading') return <Loading />;
    return <Redirect to={signedIn ? '/profile' : '/login'} />;
  }
  for (const route of ROUTES) {
    const params = match(route.path, path);
    if (!params) continue;
    if (route.access === 'guest' && signedIn) return <Redirect to={session.passwordExpired ? '/security?expired=1' : safeNext(query.get('next'))} />;
    if (route.access === 'user' || route.access === 'admin') {
      if (session.status === 'loading') return <Loading />;
      if (!signedIn) return <Redirect to={`/login?next=${encodeURIComponent(path + (query.size ? `?${query}` : ''))}`} />;
      if (route.access === 'admin' && session.user.role !== 'admin') return <NotFound />;
    }
    const Page = route.page;
    return <Page params={params} />;
  }
  return <NotFound />;
}

/** After sign-in: the saved theme, and theme changes made on another device. */
function useThemePreference(signedIn: boolean) {
  useEffect(() => {
    if (!signedIn) return;
    let live = true;
    api<Preferences>('/users/me/preferences')
      .then((p) => live && applyTheme(p.theme))
      .catch(() => undefined);
    const off = onRealtimeEvent((e) => {
      const theme = e.type === 'preferences.updated' ? e.data.theme : undefined;
      if (theme === 'light' || theme === 'dark' || theme === 'system') applyTheme(theme);
    });
    return () => {
      live = false;
      off();
    };
  }, [signedIn]);
}

export function App() {
  const session = useSession();
  const user = session.status === 'signed-in' ? session.user : null;
  useThemePreference(user !== null);
  // The first page is on screen with its handlers attached: what bench/web.ts times.
  useEffect(() => void performance.mark('tessera:interactive'), []);
  return (
    <>
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <Header user={user} signedOut={session.status === 'signed-out'} />
      <main id="main" tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Routed />
        </Suspense>
      </main>
    </>
  );
}
