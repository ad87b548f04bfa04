import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { Profile as ProfileData } from '../api/types';
import { Alert } from '../components/Alert';
import { AvatarEditor } from '../components/AvatarEditor';
import { FormError, messageOf, SubmitButton, TextAreaField, TextField, useFormAction } from '../components/Form';
import { Loading, Page } from '../components/Page';
import { Link } from '../router';
import { updateUser, useSession } from '../session';

const LABELS = { display_name: 'Display name', bio: 'Bio' };
const MAX_NAME = 100;
const MAX_BIO = 500;

const chars = (s: string) => [...s].length;

export default function Profile() {
  const session = useSession();
  const user = session.status === 'signed-in' ? session.user : null;
  const [profile, setProfile] = useState<ProfileData | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [name, setName] = useState('');
  const [bio, setBio] = useState('');
  const [saved, setSaved] = useState(false);
  const [resent, setResent] = useState(false);
  const { busy, errors, formRef, onSubmit } = useFormAction(LABELS);

  useEffect(() => {
    api<ProfileData>('/users/me/profile')
      .then((p) => {
        setProfile(p);
        setName(p.display_name ?? '');
        setBio(p.bio ?? '');
      })
      .catch((err: unknown) => setLoadError(messageOf(err)));
  }, []);

  const submit = onSubmit(async () => {
    setSaved(false);
    const next = await api<ProfileData>('/users/me/profile', {
      method: 'PATCH',
      body: { display_name: name.trim() ? name : null, bio: bio.trim() ? bio : null },
    });
    setProfile(next);
    setName(next.display_name ?? '');
    setBio(next.bio ?? '');
    updateUser({ display_name: next.display_name });
    setSaved(true);
  });

  const resend = async () => {
    await api('/auth/email/resend', { method: 'POST' }).catch(() => undefined);
    setResent(true);
  };

  if (loadError) {
    return (
      <Page title="Your profile">
        <Alert kind="error">
          <p>{loadError}</p>
        </Alert>
      </Page>
    );
  }
  if (!profile || !user) return <Loading label="Loading your profile…" />;

  return (
    <Page title="Your profile" actions={<Link to={`/u/${profile.id}`}>View your public page</Link>}>
      {!user.email_verified && (
        <Alert kind="warn">
          <p>
            Your e-mail address <strong>{user.email}</strong> is not verified yet.{' '}
            {resent ? (
              <span>A new link is on its way.</span>
            ) : (
              <button type="button" className="link-button" onClick={() => void resend()}>
                Send the link again
              </button>
            )}
          </p>
        </Alert>
      )}

      <section className="card" aria-labelledby="avatar-heading">
        <h2 id="avatar-heading">Picture</h2>
        <AvatarEditor profile={profile} fallbackName={user.email} onChange={(urls) => setProfile({ ...profile, ...urls })} />
      </section>

      <section className="card" aria-labelledby="about-heading">
        <h2 id="about-heading">About you</h2>
        <form ref={formRef} onSubmit={submit} noValidate>
          <FormError message={errors.form} />
          {saved && (
            <Alert kind="ok">
              <p>Your profile is saved.</p>
            </Alert>
          )}
          <TextField
            label={LABELS.display_name}
            name="display_name"
            autoComplete="name"
            value={name}
            onChange={(e) => {
              setName(e.target.value);
              setSaved(false);
            }}
            error={errors.fields.display_name}
            hint={`${chars(name)} of ${MAX_NAME} characters`}
          />
          <TextAreaField
            label={LABELS.bio}
            name="bio"
            value={bio}
            onChange={(e) => {
              setBio(e.target.value);
              setSaved(false);
            }}
            error={errors.fields.bio}
            hint={`${chars(bio)} of ${MAX_BIO} characters. Plain text.`}
          />
          <SubmitButton busy={busy} busyText="Saving…">
            Save profile
          </SubmitButton>
        </form>
      </section>

      <section className="card" aria-labelledby="account-heading">
        <h2 id="account-heading">Account</h2>
        <dl className="facts">
          <dt>E-mail</dt>
          <dd>
            {user.email} {user.email_verified ? <span className="badge">verified</span> : <span className="badge badge-danger">not verified</span>}
          </dd>
          <dt>Role</dt>
          <dd>{user.role}</dd>
        </dl>
        <p className="small muted">
          Who can see your profile is set under <Link to="/preferences">Preferences</Link>.
        </p>
      </section>
    </Page>
  );
}
