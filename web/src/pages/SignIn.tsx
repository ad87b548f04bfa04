import { useState } from 'react';
import { api, ApiError } from '../api/client';
import { Alert } from '../components/Alert';
import { FormError, SubmitButton, TextField, useFormAction } from '../components/Form';
import { Page } from '../components/Page';
import { Link, useLocation } from '../router';
import { signIn, useSession } from '../session';

const LABELS = { email: 'E-mail address', password: 'Password' };

export function SignIn() {
  const { query } = useLocation();
  const session = useSession();
  const notice = session.status === 'signed-out' ? session.notice : undefined;
  const { busy, errors, formRef, onSubmit } = useFormAction(LABELS);
  const [unverified, setUnverified] = useState<string | null>(null);
  const [resent, setResent] = useState(false);

  const submit = onSubmit(async (data) => {
    const email = String(data.get('email') ?? '');
    setUnverified(null);
    try {
      await signIn(email, String(data.get('password') ?? ''));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'email_not_verified') setUnverified(email);
      throw err;
    }
    // signed in: the router takes this guest page away (to ?next=, or to change an expired password)
  });

  const resend = async () => {
    if (!unverified) return;
    await api('/auth/email/resend', { method: 'POST', body: { email: unverified }, auth: false }).catch(() => undefined);
    setResent(true);
  };

  return (
    <Page title="Sign in" narrow>
      {notice && (
        <Alert kind="info">
          <p>{notice}</p>
        </Alert>
      )}
      <form ref={formRef} className="card" onSubmit={submit} noValidate>
        <FormError message={errors.form} />
        {unverified && (
          <p>
            {resent ? (
              <span role="status">A new verification e-mail is on its way.</span>
            ) : (
              <button type="button" className="link-button" onClick={() => void resend()}>
                Send the verification e-mail again
              </button>
            )}
          </p>
        )}
        <TextField label={LABELS.email} name="email" type="email" autoComplete="username" required defaultValue={query.get('email') ?? ''} error={errors.fields.email} />
        <TextField label={LABELS.password} name="password" type="password" autoComplete="current-password" required error={errors.fields.password} />
        <SubmitButton busy={busy} busyText="Signing in…" className="btn btn-block">
          Sign in
        </SubmitButton>
        <p className="center">
          <Link to="/forgot-password">Forgot your password?</Link>
        </p>
      </form>
      <p className="center">
        New here? <Link to="/signup">Create an account</Link>
      </p>
    </Page>
  );
}
