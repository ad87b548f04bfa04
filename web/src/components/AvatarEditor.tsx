import { useEffect, useId, useRef, useState, type ChangeEvent } from 'react';
import { api, upload } from '../api/client';
import type { Profile } from '../api/types';
import { initials } from '../format';
import { Alert } from './Alert';
import { formErrors, messageOf } from './Form';
import { TrashIcon, UploadIcon } from './Icons';
import { ProgressBar } from './ProgressBar';

const ACCEPT = 'image/jpeg,image/png,image/webp';

interface AvatarUrls {
  avatar_url: string | null;
  avatar_thumbnail_url: string | null;
}

export function Avatar({ url, name, fallback, large = false }: { url: string | null; name: string | null; fallback: string; large?: boolean }) {
  const cls = `avatar${large ? ' avatar-large' : ''}`;
  if (url) return <img className={cls} src={url} alt={`Picture of ${name || fallback}`} width={large ? 128 : 96} height={large ? 128 : 96} />;
  return (
    <span className={cls} role="img" aria-label={`No picture; initials ${initials(name, fallback)}`}>
      <span aria-hidden="true">{initials(name, fallback)}</span>
    </span>
  );
}

/**
 * Choose a picture, see it as the server will store it (a square crop, shown as the 800 px
 * image and the round thumbnail), upload it with a progress bar, or remove it.
 */
export function AvatarEditor({ profile, fallbackName, onChange }: { profile: Profile; fallbackName: string; onChange: (urls: AvatarUrls) => void }) {
  const inputId = useId();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [preview, setPreview] = useState<string | null>(null);
  const [progress, setProgress] = useState<number | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);

  useEffect(() => () => {
    if (preview) URL.revokeObjectURL(preview);
  }, [preview]);

  const choose = (e: ChangeEvent<HTMLInputElement>) => {
    const chosen = e.target.files?.[0] ?? null;
    setError(null);
    setMessage(null);
    if (!chosen) return;
    if (!ACCEPT.split(',').includes(chosen.type)) {
      setError('Choose a JPEG, PNG or WebP image.');
      return;
    }
    setFile(chosen);
    setPreview(URL.createObjectURL(chosen));
  };

  const cancel = () => {
    setFile(null);
    setPreview(null);
    if (input.current) input.current.value = '';
  };

  const send = async () => {
    if (!file || progress !== null) return;
    const form = new FormData();
    form.append('file', file);
    setError(null);
    setProgress(0);
    try {
      const urls = await upload<AvatarUrls>('/users/me/avatar', form, { method: 'PUT', onProgress: setProgress });
      onChange(urls);
      cancel();
      setMessage('Your new picture is saved.');
    } catch (err) {
      const { fields, form: formMessage } = formErrors(err, { file: 'The picture' });
      setError(fields.file ?? formMessage ?? messageOf(err));
    } finally {
      setProgress(null);
    }
  };

  const remove = async () => {
    setError(null);
    try {
      await api('/users/me/avatar', { method: 'DELETE' });
      onChange({ avatar_url: null, avatar_thumbnail_url: null });
      setMessage('Your picture is removed.');
    } catch (err) {
      setError(messageOf(err));
    }
  };

  return (
    <div className="stack">
      <div className="avatar-preview">
        <Avatar url={profile.avatar_url} name={profile.display_name} fallback={fallbackName} large />
        <div className="stack">
          <div>
            <input ref={input} id={inputId} className="visually-hidden file-input" type="file" name="file" accept={ACCEPT} onChange={choose} aria-describedby={`${inputId}-hint`} />
            <label className="btn btn-secondary" htmlFor={inputId}>
              <UploadIcon />
              Choose a picture
            </label>
          </div>
          <span className="hint" id={`${inputId}-hint`}>
            JPEG, PNG or WebP. It is cropped to a square around its subject.
          </span>
          {profile.avatar_url && !file && (
            <button type="button" className="btn btn-danger btn-small" onClick={() => void remove()}>
              <TrashIcon />
              Remove picture
            </button>
          )}
        </div>
      </div>

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

      {file && preview && (
        <div className="stack">
          <p className="muted small">
            Preview of <strong>{file.name}</strong>: how it will look on your profile and as a thumbnail.
          </p>
          <div className="avatar-preview">
            <img className="crop-preview" src={preview} alt="Preview of the new picture, cropped square" />
            <img className="avatar" src={preview} alt="Preview of the new thumbnail" />
          </div>
          {progress !== null && <ProgressBar label="Uploading the picture" value={progress} />}
          <div className="row">
            <button type="button" className="btn" onClick={() => void send()} aria-disabled={progress !== null}>
              <UploadIcon />
              Upload picture
            </button>
            <button type="button" className="btn btn-secondary" onClick={cancel}>
              Cancel
            </button>
          </div>
        </div>
      )}
    </div>
  );
}
