import { useState } from 'react';
import { api } from '../api/client';
import { Alert } from '../components/Alert';
import { FormError, SubmitButton, TextField, useFormAction } from '../components/Form';
import { Page } from '../components/Page';
import { Link } from '../router';

const LABELS = { email: 'E-mail address' };

export default function ForgotPassword() {
  const { busy, errors, formRef, onSubmit } = useFormAction(LABELS);
  const [sent, setSent] = useState(false);

  const submit = onSubmit(async (data) => {
    await api('/auth/password/forgot', { method: 'POST', body: { email: String(data.get('email') ?? '').trim() }, auth: false });
    setSent(true);
  });

  return (
    <Page title="Reset your password" narrow>
      {sent ? (
        <div className="card">
          <Alert kind="ok">
            <p>If the address has an account, an e-mail with a reset link is on its way. The link works once, for a short time.</p>
          </Alert>
          <p>
            <Link to="/login">Back to sign in</Link>
          </p>
        </div>
      ) : (
        <form ref={formRef} className="card" onSubmit={submit} noValidate>
          <p>Enter the address of your account; we will send you a link to choose a new password.</p>
          <FormError message={errors.form} />
          <TextField label={LABELS.email} name="email" type="email" autoComplete="email" required error={errors.fields.email} />
          <SubmitButton busy={busy} busyText="Sending…" className="btn btn-block">
            Send the reset link
          </SubmitButton>
          <p className="center">
            <Link to="/login">Back to sign in</Link>
          </p>
        </form>
      )}
    </Page>
  );
}
