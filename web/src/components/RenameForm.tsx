import { useState } from 'react';
import { api } from '../api/client';
import type { StoredFile } from '../api/types';
import { FormError, SubmitButton, TextField, useFormAction } from './Form';

/** Inline rename of one file; `onDone(newName)` or `onDone(null)` when cancelled. */
export function RenameForm({ file, onDone }: { file: StoredFile; onDone: (renamed: string | null) => void }) {
  const [name, setName] = useState(file.name);
  const { busy, errors, formRef, onSubmit } = useFormAction({ name: 'The name' });
  const submit = onSubmit(async () => {
    const renamed = await api<StoredFile>(`/files/${encodeURIComponent(file.id)}`, { method: 'PATCH', body: { name } });
    onDone(renamed.name);
  });
  return (
    <form ref={formRef} onSubmit={submit} noValidate className="stack">
      <FormError message={errors.form} />
      <TextField label={`New name for ${file.name}`} name="name" value={name} onChange={(e) => setName(e.target.value)} required autoFocus error={errors.fields.name} />
      <div className="row">
        <SubmitButton busy={busy} busyText="Saving…" className="btn btn-small">
          Save name
        </SubmitButton>
        <button type="button" className="btn btn-secondary btn-small" onClick={() => onDone(null)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
