import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import type { Profile } from '../api/types';
import { Alert } from '../components/Alert';
import { Avatar } from '../components/AvatarEditor';
import { messageOf } from '../components/Form';
import { Loading, Page } from '../components/Page';
import { formatDate } from '../format';
import { Link } from '../router';
import { useSession } from '../session';

type State = { kind: 'loading' } | { kind: 'found'; profile: Profile } | { kind: 'hidden' } | { kind: 'error'; message: string };

/**
 * `/u/:id`: a profile as this viewer may see it. The server decides (privacy is enforced there);
 * the page shows what comes back, and a 404 the same way whether hidden or missing.
 */
export default function PublicProfile({ params }: { params: Record<string, string> }) {
  const id = params.id ?? '';
  const session = useSession();
  const [state, setState] = useState<State>({ kind: 'loading' });
  const viewerId = session.status === 'signed-in' ? session.user.id : null;
  const ready = session.status !== 'loading';

  useEffect(() => {
    if (!ready) return;
    let live = true;
    setState({ kind: 'loading' });
    api<Profile>(`/users/${encodeURIComponent(id)}/profile`, { auth: 'optional' })
      .then((profile) => live && setState({ kind: 'found', profile }))
      .catch((err: unknown) => {
        if (!live) return;
        if (err instanceof ApiError && (err.status === 404 || err.status === 422 || err.status === 400)) setState({ kind: 'hidden' });
        else setState({ kind: 'error', message: messageOf(err) });
      });
    return () => {
      live = false;
    };
  }, [id, ready, viewerId]);

  if (state.kind === 'loading') return <Loading label="Loading the profile…" />;
  if (state.kind === 'hidden' || state.kind === 'error') {
    return (
      <Page title="Profile not available" narrow>
        <div className="card">
          {state.kind === 'error' ? (
            <Alert kind="error">
              <p>{state.message}</p>
            </Alert>
          ) : (
            <p>This profile does not exist, or its owner does not show it to you.</p>
          )}
          {!viewerId && (
            <p>
              <Link to={`/login?next=${encodeURIComponent(`/u/${id}`)}`}>Sign in</Link> to see profiles shared with signed-in users.
            </p>
          )}
        </div>
      </Page>
    );
  }

  const p = state.profile;
  const name = p.display_name || 'Unnamed user';
  const own = viewerId === p.id;
  return (
    <Page title={name}>
      <article className="card" aria-label={`Profile of ${name}`}>
        <div className="profile-head">
          <Avatar url={p.avatar_url} name={p.display_name} fallback="?" large />
        </div>
        {p.bio ? <p className="bio">{p.bio}</p> : <p className="muted">No bio yet.</p>}
        <dl className="facts">
          {p.email !== undefined && (
            <>
              <dt>E-mail</dt>
              <dd>
                <a href={`mailto:${p.email}`}>{p.email}</a>
              </dd>
            </>
          )}
          <dt>Member since</dt>
          <dd>{formatDate(p.created_at)}</dd>
          {p.last_active_at !== undefined && (
            <>
              <dt>Last active</dt>
              <dd>{formatDate(p.last_active_at)}</dd>
            </>
          )}
        </dl>
      </article>
      {own && (
        <p>
          This is your profile as you see it. <Link to="/preferences">Change who can see it</Link> or <Link to="/profile">edit it</Link>.
        </p>
      )}
    </Page>
  );
}
