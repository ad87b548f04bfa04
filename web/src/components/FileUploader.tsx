import { useId, useRef, useState, type ChangeEvent } from 'react';
import { upload } from '../api/client';
import type { StoredFile } from '../api/types';
import { formatBytes } from '../format';
import { Alert } from './Alert';
import { formErrors } from './Form';
import { UploadIcon } from './Icons';
import { ProgressBar } from './ProgressBar';

interface Job {
  key: number;
  name: string;
  size: number;
  progress: number;
  state: 'uploading' | 'done' | 'failed';
  message?: string;
}

let nextKey = 1;

/** Choose files; each uploads at once with its own progress bar and its own outcome. */
export function FileUploader({ onUploaded }: { onUploaded: (file: StoredFile) => void }) {
  const id = useId();
  const input = useRef<HTMLInputElement>(null);
  const [jobs, setJobs] = useState<Job[]>([]);

  const patch = (key: number, change: Partial<Job>) => setJobs((list) => list.map((j) => (j.key === key ? { ...j, ...change } : j)));

  const start = (file: File) => {
    const key = nextKey++;
    setJobs((list) => [{ key, name: file.name, size: file.size, progress: 0, state: 'uploading' as const }, ...list].slice(0, 20));
    const form = new FormData();
    form.append('file', file);
    upload<StoredFile>('/files', form, { onProgress: (progress) => patch(key, { progress }) })
      .then((stored) => {
        patch(key, { state: 'done', progress: 1, message: `Uploaded as ${stored.name}.` });
        onUploaded(stored);
      })
      .catch((err: unknown) => {
        const { fields, form: formMessage } = formErrors(err, { file: 'The file' });
        patch(key, { state: 'failed', message: fields.file ?? formMessage ?? 'The upload failed.' });
      });
  };

  const choose = (e: ChangeEvent<HTMLInputElement>) => {
    for (const file of Array.from(e.target.files ?? [])) start(file);
    if (input.current) input.current.value = '';
  };

  return (
    <div className="stack">
      <div>
        <input ref={input} id={id} className="visually-hidden file-input" type="file" multiple onChange={choose} />
        <label className="btn" htmlFor={id}>
          <UploadIcon />
          Choose files to upload
        </label>
      </div>
      {jobs.length > 0 && (
        <ul className="list" aria-label="Uploads">
          {jobs.map((j) => (
            <li key={j.key}>
              <div className="item-title">
                {j.name} <span className="muted small">({formatBytes(j.size)})</span>
              </div>
              {j.state === 'uploading' && <ProgressBar label={`Uploading ${j.name}`} value={j.progress} />}
              {j.state === 'done' && (
                <Alert kind="ok">
                  <p>{j.message}</p>
                </Alert>
              )}
              {j.state === 'failed' && (
                <Alert kind="error">
                  <p>{j.message}</p>
                </Alert>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
