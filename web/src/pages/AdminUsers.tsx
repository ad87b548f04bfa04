import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../api/client';
import type { AdminUser, Page as ListPage } from '../api/types';
import { Alert } from '../components/Alert';
import { messageOf } from '../components/Form';
import { Loading, Page } from '../components/Page';
import { formatDate } from '../format';
import { Link } from '../router';

const PAGE_SIZE = 25;

function UserRow({ user, onChange, onMessage }: { user: AdminUser; onChange: (u: AdminUser) => void; onMessage: (kind: 'ok' | 'error', text: string) => void }) {
  const who = user.display_name ? `${user.display_name} (${user.email})` : user.email;
  const act = async (action: () => Promise<void>) => {
    try {
      await action();
    } catch (err) {
      onMessage('error', messageOf(err));
    }
  };
  const lock = () =>
    act(async () => {
      const { user: u } = await api<{ user: AdminUser }>(`/admin/users/${user.id}/lock`, { method: 'POST', body: {} });
      onChange(u);
      onMessage('ok', `${who} is locked and signed out.`);
    });
  const unlock = () =>
    act(async () => {
      const { user: u } = await api<{ user: AdminUser }>(`/admin/users/${user.id}/unlock`, { method: 'POST', body: {} });
      onChange(u);
      onMessage('ok', `${who} is unlocked.`);
    });
  const revoke = () =>
    act(async () => {
      await api(`/admin/users/${user.id}/sessions`, { method: 'DELETE' });
      onMessage('ok', `Every session of ${who} is signed out.`);
    });

  return (
    <li className="item">
      <div className="item-main">
        <div className="item-title">
          <Link to={`/u/${user.id}`}>{user.display_name || user.email}</Link> {user.role === 'admin' && <span className="badge">admin</span>}{' '}
          {user.locked && <span className="badge badge-danger">locked</span>}
        </div>
        <div className="small muted">
          {user.email} {user.email_verified ? '(verified)' : '(not verified)'} · joined {formatDate(user.created_at)} · last sign-in {formatDate(user.last_login_at)}
        </div>
      </div>
      <div className="row">
        {user.locked ? (
          <button type="button" className="btn btn-secondary btn-small" onClick={() => void unlock()} aria-label={`Unlock ${who}`}>
            Unlock
          </button>
        ) : (
          <button type="button" className="btn btn-danger btn-small" onClick={() => void lock()} aria-label={`Lock ${who}`}>
            Lock
          </button>
        )}
        <button type="button" className="btn btn-secondary btn-small" onClick={() => void revoke()} aria-label={`Sign out sessions of ${who}`}>
          Sign out sessions
        </button>
      </div>
    </li>
  );
}

/** Admins: find people, lock or unlock them, end their sessions. */
export default function AdminUsers() {
  const [q, setQ] = useState('');
  const [search, setSearch] = useState('');
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<ListPage<AdminUser> | null>(null);
  const [message, setMessage] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const cursor = cursors[cursors.length - 1] ?? null;

  useEffect(() => {
    let live = true;
    api<ListPage<AdminUser>>('/admin/users', { query: { q: search, cursor, limit: PAGE_SIZE } })
      .then((p) => live && setPage(p))
      .catch((err: unknown) => live && setMessage({ kind: 'error', text: messageOf(err) }));
    return () => {
      live = false;
    };
  }, [search, cursor]);

  const submit = (e: FormEvent) => {
    e.preventDefault();
    setCursors([null]);
    setSearch(q.trim());
  };

  const replace = (u: AdminUser) => setPage((p) => (p ? { ...p, items: p.items.map((x) => (x.id === u.id ? u : x)) } : p));

  return (
    <Page title="Users">
      <form className="toolbar" role="search" onSubmit={submit}>
        <div className="field">
          <label htmlFor="user-search">Search by e-mail or name</label>
          <input id="user-search" type="search" value={q} onChange={(e) => setQ(e.target.value)} />
        </div>
        <button type="submit" className="btn">
          Search
        </button>
      </form>
      {message && (
        <Alert kind={message.kind}>
          <p>{message.text}</p>
        </Alert>
      )}
      <section className="card" aria-label="Users">
        {!page ? (
          <Loading label="Loading users…" />
        ) : page.items.length === 0 ? (
          <p className="muted">Nobody matches.</p>
        ) : (
          <ul className="list">
            {page.items.map((u) => (
              <UserRow key={u.id} user={u} onChange={replace} onMessage={(kind, text) => setMessage({ kind, text })} />
            ))}
          </ul>
        )}
        {page && (cursors.length > 1 || page.next_cursor) && (
          <nav className="pager" aria-label="Pages of users">
            <button type="button" className="btn btn-secondary btn-small" disabled={cursors.length === 1} onClick={() => setCursors((c) => c.slice(0, -1))}>
              Previous page
            </button>
            <button type="button" className="btn btn-secondary btn-small" disabled={!page.next_cursor} onClick={() => page.next_cursor && setCursors((c) => [...c, page.next_cursor])}>
              Next page
            </button>
          </nav>
        )}
      </section>
    </Page>
  );
}
