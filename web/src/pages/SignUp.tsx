import { useState } from 'react';
import { api } from '../api/client';
import { Alert } from '../components/Alert';
import { FormError, SubmitButton, TextField, useFormAction } from '../components/Form';
import { Page } from '../components/Page';
import { Link } from '../router';

const LABELS = { display_name: 'Display name', email: 'E-mail address', password: 'Password' };
const PASSWORD_HINT = 'At least 12 characters, with upper- and lower-case letters, a digit and a symbol. Not your e-mail address, nor a common password.';

export default function SignUp() {
  const { busy, errors, formRef, onSubmit } = useFormAction(LABELS, { email_taken: 'email', password_policy: 'password' });
  const [created, setCreated] = useState<string | null>(null);

  const submit = onSubmit(async (data) => {
    const email = String(data.get('email') ?? '').trim();
    const displayName = String(data.get('display_name') ?? '').trim();
    await api('/auth/register', {
      method: 'POST',
      auth: false,
      body: { email, password: String(data.get('password') ?? ''), ...(displayName ? { display_name: displayName } : {}) },
    });
    setCreated(email);
  });

  if (created) {
    return (
      <Page title="Check your inbox" narrow>
        <div className="card">
          <Alert kind="ok">
            <p>Your account is ready.</p>
          </Alert>
          <p>
            We sent a link to <strong>{created}</strong> to confirm the address. Open it to verify your e-mail, then sign in.
          </p>
          <p>
            <Link className="btn" to={`/login?email=${encodeURIComponent(created)}`}>
              Sign in
            </Link>
          </p>
        </div>
      </Page>
    );
  }

  return (
    <Page title="Create an account" narrow>
      <form ref={formRef} className="card" onSubmit={submit} noValidate>
        <FormError message={errors.form} />
        <TextField label={LABELS.display_name} name="display_name" autoComplete="name" maxLength={100} hint="Optional. Shown on your profile." error={errors.fields.display_name} />
        <TextField label={LABELS.email} name="email" type="email" autoComplete="email" required error={errors.fields.email} />
        <TextField label={LABELS.password} name="password" type="password" autoComplete="new-password" required hint={PASSWORD_HINT} error={errors.fields.password} />
        <SubmitButton busy={busy} busyText="Creating your account…" className="btn btn-block">
          Create account
        </SubmitButton>
      </form>
      <p className="center">
        Already have an account? <Link to="/login">Sign in</Link>
      </p>
    </Page>
  );
}
