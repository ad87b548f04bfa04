import { useEffect, useState } from 'react';
import { api, ApiError } from '../api/client';
import { Alert } from '../components/Alert';
import { FormError, SubmitButton, TextField, useFormAction } from '../components/Form';
import { Page } from '../components/Page';
import { Link, useLocation } from '../router';

const LABELS = { new_password: 'New password', confirm: 'Repeat the new password' };

/** The page behind the link in the password-reset e-mail. */
export default function ResetPassword() {
  const { query } = useLocation();
  const [token] = useState(() => query.get('token'));
  const { busy, errors, formRef, onSubmit } = useFormAction(LABELS, { password_policy: 'new_password' });
  const [done, setDone] = useState(false);
  const [linkInvalid, setLinkInvalid] = useState(false);

  // Kept in memory for the form; off the address bar, so it is not left in history.
  useEffect(() => {
    if (token) window.history.replaceState(null, '', '/reset-password');
  }, [token]);

  const submit = onSubmit(async (data) => {
    const password = String(data.get('new_password') ?? '');
    if (password !== String(data.get('confirm') ?? '')) {
      throw new ApiError(422, { code: 'validation_failed', errors: [{ field: 'confirm', message: 'does not match the new password' }] });
    }
    try {
      await api('/auth/password/reset', { method: 'POST', body: { token, new_password: password }, auth: false });
    } catch (err) {
      if (err instanceof ApiError && err.code === 'email_link_invalid') setLinkInvalid(true);
      throw err;
    }
    setDone(true);
  });

  if (!token || linkInvalid) {
    return (
      <Page title="Choose a new password" narrow>
        <div className="card">
          <Alert kind="error">
            <p>{token ? 'This link is invalid, expired or already used.' : 'Open the link from the password-reset e-mail to choose a new password.'}</p>
          </Alert>
          <p>
            <Link to="/forgot-password">Ask for a new link</Link>
          </p>
        </div>
      </Page>
    );
  }

  if (done) {
    return (
      <Page title="Password changed" narrow>
        <div className="card">
          <Alert kind="ok">
            <p>Your password is changed, and every device that was signed in has been signed out.</p>
          </Alert>
          <p>
            <Link className="btn" to="/login">
              Sign in
            </Link>
          </p>
        </div>
      </Page>
    );
  }

  return (
    <Page title="Choose a new password" narrow>
      <form ref={formRef} className="card" onSubmit={submit} noValidate>
        <FormError message={errors.form} />
        <TextField label={LABELS.new_password} name="new_password" type="password" autoComplete="new-password" required error={errors.fields.new_password} hint="At least 12 characters, with upper- and lower-case letters, a digit and a symbol." />
        <TextField label={LABELS.confirm} name="confirm" type="password" autoComplete="new-password" required error={errors.fields.confirm} />
        <SubmitButton busy={busy} busyText="Saving…" className="btn btn-block">
          Save the new password
        </SubmitButton>
      </form>
    </Page>
  );
}
