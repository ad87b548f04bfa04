import { useCallback, useEffect, useRef, useState } from 'react';
import { api } from '../api/client';
import type { Page as ListPage, Session } from '../api/types';
import { Alert } from '../components/Alert';
import { FormError, messageOf, SubmitButton, TextField, useFormAction } from '../components/Form';
import { LogoutIcon } from '../components/Icons';
import { Loading, Page } from '../components/Page';
import { describeUserAgent, formatDate } from '../format';
import { onRealtimeEvent } from '../realtime';
import { useLocation } from '../router';
import { signOut, signOutEverywhere } from '../session';

const LABELS = { current_password: 'Current password', new_password: 'New password' };

function ChangePassword({ onChanged }: { onChanged: () => void }) {
  const { busy, errors, formRef, onSubmit } = useFormAction(LABELS, { current_password_incorrect: 'current_password', password_policy: 'new_password' });
  const [done, setDone] = useState(false);
  const submit = onSubmit(async (data) => {
    setDone(false);
    await api('/auth/password/change', {
      method: 'POST',
      body: { current_password: String(data.get('current_password') ?? ''), new_password: String(data.get('new_password') ?? '') },
    });
    formRef.current?.reset();
    setDone(true);
    onChanged();
  });
  return (
    <form ref={formRef} onSubmit={submit} noValidate>
      <FormError message={errors.form} />
      <TextField label={LABELS.current_password} name="current_password" type="password" autoComplete="current-password" required error={errors.fields.current_password} />
      <TextField label={LABELS.new_password} name="new_password" type="password" autoComplete="new-password" required error={errors.fields.new_password} hint="At least 12 characters, with upper- and lower-case letters, a digit and a symbol." />
      {done && (
        <Alert kind="ok">
          <p>Your password is changed. Your other devices were signed out.</p>
        </Alert>
      )}
      <SubmitButton busy={busy} busyText="Changing…">
        Change password
      </SubmitButton>
    </form>
  );
}

function Sessions({ reloadKey }: { reloadKey: number }) {
  const [sessions, setSessions] = useState<Session[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const listHeading = useRef<HTMLHeadingElement>(null);

  const load = useCallback(() => {
    api<ListPage<Session>>('/auth/sessions')
      .then((page) => setSessions(page.items))
      .catch((err: unknown) => setError(messageOf(err)));
  }, []);

  useEffect(load, [load, reloadKey]);
  // Another device signed in or out: keep the list true.
  useEffect(() => onRealtimeEvent((e) => e.type === 'session.revoked' && load()), [load]);

  const revoke = async (s: Session) => {
    setError(null);
    try {
      await api(`/auth/sessions/${encodeURIComponent(s.id)}`, { method: 'DELETE' });
      setMessage(`${describeUserAgent(s.user_agent)} is signed out.`);
      setSessions((list) => list?.filter((x) => x.id !== s.id) ?? null);
      listHeading.current?.focus();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  const everywhere = async () => {
    try {
      await signOutEverywhere();
    } catch (err) {
      setError(messageOf(err));
    }
  };

  if (!sessions) return error ? <Alert kind="error"><p>{error}</p></Alert> : <Loading label="Loading your sessions…" />;
  const sorted = [...sessions].sort((a, b) => Number(b.current) - Number(a.current) || b.last_used_at.localeCompare(a.last_used_at));

  return (
    <>
      <h3 className="visually-hidden" ref={listHeading} tabIndex={-1}>
        Signed-in devices
      </h3>
      {error && (
        <Alert kind="error">
          <p>{error}</p>
        </Alert>
      )}
      {message && (
        <Alert kind="ok">
          <p>{message}</p>
        </Alert>
      )}
      <ul className="list" aria-label="Signed-in devices">
        {sorted.map((s) => (
          <li key={s.id} className="item">
            <div className="item-main">
              <div className="item-title">
                {describeUserAgent(s.user_agent)} {s.current && <span className="badge">this device</span>}
              </div>
              <div className="small muted">
                {s.ip ?? 'unknown address'} · signed in {formatDate(s.created_at)} · last used {formatDate(s.last_used_at)}
              </div>
            </div>
            {s.current ? (
              <button type="button" className="btn btn-secondary btn-small" onClick={() => void signOut()}>
                <LogoutIcon />
                Sign out this device
              </button>
            ) : (
              <button type="button" className="btn btn-danger btn-small" onClick={() => void revoke(s)} aria-label={`Sign out ${describeUserAgent(s.user_agent)}, last used ${formatDate(s.last_used_at)}`}>
                <LogoutIcon />
                Sign out
              </button>
            )}
          </li>
        ))}
      </ul>
      <p>
        <button type="button" className="btn btn-danger" onClick={() => void everywhere()}>
          <LogoutIcon />
          Sign out everywhere
        </button>
      </p>
    </>
  );
}

export default function Security() {
  const { query } = useLocation();
  const [reloadKey, setReloadKey] = useState(0);
  return (
    <Page title="Security">
      {query.get('expired') && (
        <Alert kind="warn">
          <p>Your password has expired. Please choose a new one.</p>
        </Alert>
      )}
      <section className="card" aria-labelledby="sessions-heading">
        <h2 id="sessions-heading">Where you are signed in</h2>
        <Sessions reloadKey={reloadKey} />
      </section>
      <section className="card" aria-labelledby="password-heading">
        <h2 id="password-heading">Password</h2>
        <ChangePassword onChanged={() => setReloadKey((k) => k + 1)} />
      </section>
    </Page>
  );
}
