import { useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { User } from '../api/types';
import { Alert } from '../components/Alert';
import { messageOf } from '../components/Form';
import { Loading, Page } from '../components/Page';
import { Link, useLocation } from '../router';
import { updateUser, useSession } from '../session';

type State = { kind: 'working' } | { kind: 'done' } | { kind: 'failed'; message: string } | { kind: 'no-token' };

/** The page behind the link in the verification e-mail: it confirms the token at once. */
export default function VerifyEmail() {
  const { query } = useLocation();
  const session = useSession();
  const [token] = useState(() => query.get('token'));
  const [state, setState] = useState<State>(token ? { kind: 'working' } : { kind: 'no-token' });
  const [resent, setResent] = useState(false);
  const started = useRef(false);

  useEffect(() => {
    if (!token || started.current) return;
    started.current = true;
    // The token is single-use: off the address bar (and out of history) once read.
    window.history.replaceState(null, '', '/verify-email');
    api<{ user: User }>('/auth/email/verify', { method: 'POST', body: { token }, auth: false })
      .then(({ user }) => {
        updateUser({ email_verified: user.email_verified });
        setState({ kind: 'done' });
      })
      .catch((err: unknown) => setState({ kind: 'failed', message: messageOf(err) }));
  }, [token]);

  const signedIn = session.status === 'signed-in';
  const resend = async () => {
    await api('/auth/email/resend', { method: 'POST' }).catch(() => undefined);
    setResent(true);
  };

  return (
    <Page title="Verify your e-mail address" narrow>
      <div className="card">
        {state.kind === 'working' && <Loading label="Verifying your e-mail address…" />}
        {state.kind === 'done' && (
          <>
            <Alert kind="ok">
              <p>Your e-mail address is verified. Thank you!</p>
            </Alert>
            <p>
              <Link className="btn" to={signedIn ? '/profile' : '/login'}>
                {signedIn ? 'Go to your profile' : 'Sign in'}
              </Link>
            </p>
          </>
        )}
        {state.kind === 'failed' && (
          <Alert kind="error">
            <p>{state.message}</p>
          </Alert>
        )}
        {state.kind === 'no-token' && <p>Open the link from the verification e-mail to confirm your address.</p>}
        {(state.kind === 'failed' || state.kind === 'no-token') &&
          (signedIn ? (
            resent ? (
              <p role="status">A new verification e-mail is on its way.</p>
            ) : (
              <button type="button" className="btn btn-secondary" onClick={() => void resend()}>
                Send a new link
              </button>
            )
          ) : (
            <p>
              <Link to="/login">Sign in</Link> to ask for a new link.
            </p>
          ))}
      </div>
    </Page>
  );
}
