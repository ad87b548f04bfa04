import { useCallback, useId, useRef, useState, type FormEvent, type InputHTMLAttributes, type ReactNode, type TextareaHTMLAttributes } from 'react';
import { ApiError } from '../api/client';
import { Alert } from './Alert';
import { AlertIcon } from './Icons';

/**
 * Forms and the API's problem+json: field errors go next to the field they name (matched on
 * the input's `name`), a code that is about one field (`email_taken`) goes there too, and what
 * names no field on the form is shown above it. The first field in error gets the focus.
 */

export interface FormErrors {
  form: string | null;
  fields: Record<string, string>;
}

const NO_ERRORS: FormErrors = { form: null, fields: {} };

/** A field's message as a sentence: the API says "must be at least 12 characters". */
function sentence(label: string, message: string): string {
  return /^[a-z]/.test(message) ? `${label} ${message}.`.replace(/\.\.$/, '.') : message;
}

export function messageOf(err: unknown): string {
  if (err instanceof ApiError) {
    const p = err.problem;
    if (p.detail && p.title && !p.detail.startsWith(p.title)) return `${p.title}. ${p.detail}`.replace(/\.\./g, '.');
    return p.detail ?? p.title ?? err.message;
  }
  return 'Something went wrong. Please try again.';
}

/** Problem → errors for a form whose inputs are named `names` (with labels for the sentences). */
export function formErrors(err: unknown, labels: Record<string, string>, codeFields: Record<string, string> = {}): FormErrors {
  if (!(err instanceof ApiError)) return { form: messageOf(err), fields: {} };
  const fields: Record<string, string> = {};
  const elsewhere: string[] = [];
  for (const e of err.problem.errors ?? []) {
    const name = e.field.replace(/^\//, '').replace(/\//g, '.');
    const label = labels[name];
    if (label !== undefined) {
      if (!(name in fields)) fields[name] = sentence(label, e.message);
    } else {
      elsewhere.push(name === '(body)' ? e.message : `${name} ${e.message}`);
    }
  }
  const codeField = codeFields[err.code];
  if (codeField && !(codeField in fields)) fields[codeField] = err.problem.detail ?? err.problem.title ?? err.message;
  const named = Object.keys(fields).length > 0;
  let form: string | null = null;
  if (elsewhere.length) form = elsewhere.join('; ');
  else if (!named) form = messageOf(err);
  else if (!codeField) form = 'Please correct the highlighted fields.';
  return { form, fields };
}

/**
 * `onSubmit` for a form: runs the action, keeps busy/errors, focuses the first field in error.
 * The action returns nothing; it throws an ApiError to report problems.
 */
export function useFormAction(labels: Record<string, string>, codeFields: Record<string, string> = {}) {
  const [busy, setBusy] = useState(false);
  const [errors, setErrors] = useState<FormErrors>(NO_ERRORS);
  const formRef = useRef<HTMLFormElement>(null);
  const labelsRef = useRef(labels);
  labelsRef.current = labels;

  const run = useCallback(
    async (action: () => Promise<void>) => {
      setBusy(true);
      setErrors(NO_ERRORS);
      try {
        await action();
      } catch (err) {
        const next = formErrors(err, labelsRef.current, codeFields);
        setErrors(next);
        const first = Object.keys(next.fields)[0];
        requestAnimationFrame(() => {
          const el = first ? formRef.current?.querySelector<HTMLElement>(`[name="${CSS.escape(first)}"]`) : formRef.current?.querySelector<HTMLElement>('.form-error');
          el?.focus();
        });
      } finally {
        setBusy(false);
      }
    },
    // codeFields is a literal per form, only read when an error arrives
    [],
  );

  const onSubmit = (action: (data: FormData) => Promise<void>) => (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    if (busy) return;
    const data = new FormData(e.currentTarget);
    void run(() => action(data));
  };

  return { busy, errors, setErrors, formRef, onSubmit, run };
}

export function FormError({ message }: { message: string | null }) {
  if (!message) return null;
  return (
    <div className="form-error" tabIndex={-1}>
      <Alert kind="error">
        <p>{message}</p>
      </Alert>
    </div>
  );
}

interface FieldShellProps {
  label: string;
  error?: string | undefined;
  hint?: ReactNode;
  children: (ids: { id: string; describedBy: string | undefined; invalid: boolean }) => ReactNode;
}

function FieldShell({ label, error, hint, children }: FieldShellProps) {
  const id = useId();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = error ? `${id}-error` : undefined;
  const describedBy = [errorId, hintId].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, describedBy, invalid: Boolean(error) })}
      {error && (
        <p className="field-error" id={errorId}>
          <AlertIcon />
          <span>{error}</span>
        </p>
      )}
      {hint && (
        <span className="hint" id={hintId}>
          {hint}
        </span>
      )}
    </div>
  );
}

type InputProps = Omit<InputHTMLAttributes<HTMLInputElement>, 'id'> & { label: string; name: string; error?: string | undefined; hint?: ReactNode };

export function TextField({ label, error, hint, ...input }: InputProps) {
  return (
    <FieldShell label={label} error={error} hint={hint}>
      {({ id, describedBy, invalid }) => <input id={id} type="text" aria-describedby={describedBy} aria-invalid={invalid || undefined} {...input} />}
    </FieldShell>
  );
}

type TextAreaProps = Omit<TextareaHTMLAttributes<HTMLTextAreaElement>, 'id'> & { label: string; name: string; error?: string | undefined; hint?: ReactNode };

export function TextAreaField({ label, error, hint, ...area }: TextAreaProps) {
  return (
    <FieldShell label={label} error={error} hint={hint}>
      {({ id, describedBy, invalid }) => <textarea id={id} aria-describedby={describedBy} aria-invalid={invalid || undefined} {...area} />}
    </FieldShell>
  );
}

export function SubmitButton({ busy, children, busyText, className = 'btn' }: { busy: boolean; children: ReactNode; busyText?: string; className?: string }) {
  return (
    // aria-disabled, not disabled: a disabled button would drop the keyboard focus mid-submit
    <button type="submit" className={className} aria-disabled={busy}>
      {busy ? (busyText ?? 'Working…') : children}
    </button>
  );
}
