import { useCallback, useEffect, useRef, useState } from 'react';
import { api, request } from '../api/client';
import type { FileUsage, Page as ListPage, StoredFile } from '../api/types';
import { Alert } from '../components/Alert';
import { Duplicates } from '../components/Duplicates';
import { FileUploader } from '../components/FileUploader';
import { messageOf } from '../components/Form';
import { DownloadIcon, EditIcon, TrashIcon } from '../components/Icons';
import { Loading, Page } from '../components/Page';
import { UsageBar } from '../components/ProgressBar';
import { RenameForm } from '../components/RenameForm';
import { formatBytes, formatDate } from '../format';
import { onRealtimeEvent } from '../realtime';

const PAGE_SIZE = 20;

const SORTS = {
  newest: { label: 'Newest first', sort: 'created_at', order: 'desc' },
  oldest: { label: 'Oldest first', sort: 'created_at', order: 'asc' },
  largest: { label: 'Largest first', sort: 'size', order: 'desc' },
  smallest: { label: 'Smallest first', sort: 'size', order: 'asc' },
  name: { label: 'Name, A to Z', sort: 'name', order: 'asc' },
  'name-desc': { label: 'Name, Z to A', sort: 'name', order: 'desc' },
} as const;
type SortKey = keyof typeof SORTS;

/** Saves a file the way a link with `download` would, after fetching it with the access token. */
export async function downloadFile(file: StoredFile): Promise<void> {
  const res = await request(`/files/${encodeURIComponent(file.id)}/content`);
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

function Usage({ usage }: { usage: FileUsage | null }) {
  if (!usage) return <Loading label="Loading your storage use…" />;
  return (
    <div className="stack">
      <p>
        <strong>{formatBytes(usage.used_bytes)}</strong> of {formatBytes(usage.quota_bytes)} used · {usage.count} {usage.count === 1 ? 'file' : 'files'}
      </p>
      <UsageBar used={usage.used_bytes} total={usage.quota_bytes} label="Storage used" />
    </div>
  );
}

function FileRow({ file, onChanged, onError }: { file: StoredFile; onChanged: (message: string) => void; onError: (message: string) => void }) {
  const [mode, setMode] = useState<'view' | 'rename' | 'confirm-delete'>('view');
  const actions = useRef<HTMLDivElement>(null);

  const remove = async () => {
    try {
      await api(`/files/${encodeURIComponent(file.id)}`, { method: 'DELETE' });
      onChanged(`${file.name} is deleted.`);
    } catch (err) {
      onError(messageOf(err));
      setMode('view');
    }
  };

  const back = () => {
    setMode('view');
    requestAnimationFrame(() => actions.current?.querySelector<HTMLElement>('button')?.focus());
  };

  return (
    <li className="item">
      <div className="item-main">
        <div className="item-title">{file.name}</div>
        <div className="small muted">
          {formatBytes(file.size)} · {file.content_type} · {formatDate(file.created_at)}
        </div>
        {mode === 'rename' && (
          <RenameForm
            file={file}
            onDone={(renamed) => {
              back();
              if (renamed) onChanged(`Renamed to ${renamed}.`);
            }}
          />
        )}
        {mode === 'confirm-delete' && (
          <div className="row" role="group" aria-label={`Delete ${file.name}?`}>
            <span>Delete this file?</span>
            <button type="button" className="btn btn-danger btn-small" onClick={() => void remove()} autoFocus>
              Delete
            </button>
            <button type="button" className="btn btn-secondary btn-small" onClick={back}>
              Keep it
            </button>
          </div>
        )}
      </div>
      {mode === 'view' && (
        <div className="row" ref={actions}>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => void downloadFile(file).catch((err: unknown) => onError(messageOf(err)))} aria-label={`Download ${file.name}`}>
            <DownloadIcon />
            Download
          </button>
          <button type="button" className="btn btn-secondary btn-small" onClick={() => setMode('rename')} aria-label={`Rename ${file.name}`}>
            <EditIcon />
            Rename
          </button>
          <button type="button" className="btn btn-danger btn-small" onClick={() => setMode('confirm-delete')} aria-label={`Delete ${file.name}`}>
            <TrashIcon />
            Delete
          </button>
        </div>
      )}
    </li>
  );
}

export default function Files() {
  const [sort, setSort] = useState<SortKey>('newest');
  // cursors[i] is the cursor of page i (page 0 has none)
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const [page, setPage] = useState<ListPage<StoredFile> | null>(null);
  const [usage, setUsage] = useState<FileUsage | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  const pageIndex = cursors.length - 1;
  const cursor = cursors[pageIndex] ?? null;

  const reload = useCallback(() => setVersion((v) => v + 1), []);

  useEffect(() => {
    let live = true;
    const { sort: by, order } = SORTS[sort];
    api<ListPage<StoredFile>>('/files', { query: { sort: by, order, limit: PAGE_SIZE, cursor } })
      .then((p) => {
        if (!live) return;
        // the page emptied under us (files deleted): step back
        if (p.items.length === 0 && pageIndex > 0) setCursors((c) => c.slice(0, -1));
        else setPage(p);
      })
      .catch((err: unknown) => live && setError(messageOf(err)));
    api<FileUsage>('/files/usage')
      .then((u) => live && setUsage(u))
      .catch(() => undefined);
    return () => {
      live = false;
    };
  }, [sort, cursor, pageIndex, version]);

  // Uploads and deletions from another tab or device show up here too.
  useEffect(() => {
    let timer: number | undefined;
    const off = onRealtimeEvent((e) => {
      if (e.type !== 'file.created' && e.type !== 'file.deleted') return;
      window.clearTimeout(timer);
      timer = window.setTimeout(reload, 300);
    });
    return () => {
      off();
      window.clearTimeout(timer);
    };
  }, [reload]);

  const changed = (text: string) => {
    setError(null);
    setMessage(text);
    reload();
  };

  return (
    <Page title="Files">
      <section className="card" aria-labelledby="usage-heading">
        <h2 id="usage-heading">Storage</h2>
        <Usage usage={usage} />
      </section>

      <section className="card" aria-labelledby="upload-heading">
        <h2 id="upload-heading">Upload</h2>
        <FileUploader onUploaded={() => reload()} />
      </section>

      <section className="card" aria-labelledby="files-heading">
        <h2 id="files-heading">Your files</h2>
        <div className="toolbar">
          <div className="field">
            <label htmlFor="sort">Sort by</label>
            <select
              id="sort"
              value={sort}
              onChange={(e) => {
                setSort(e.target.value as SortKey);
                setCursors([null]);
              }}
            >
              {Object.entries(SORTS).map(([key, s]) => (
                <option key={key} value={key}>
                  {s.label}
                </option>
              ))}
            </select>
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
        {!page ? (
          <Loading label="Loading your files…" />
        ) : page.items.length === 0 ? (
          <p className="muted">No files yet. Upload one above.</p>
        ) : (
          <ul className="list" aria-label={`Files, page ${pageIndex + 1}`}>
            {page.items.map((f) => (
              <FileRow key={f.id} file={f} onChanged={changed} onError={setError} />
            ))}
          </ul>
        )}
        {page && (pageIndex > 0 || page.next_cursor) && (
          <nav className="pager" aria-label="Pages of files">
            <button type="button" className="btn btn-secondary btn-small" onClick={() => setCursors((c) => c.slice(0, -1))} aria-disabled={pageIndex === 0} disabled={pageIndex === 0}>
              Previous page
            </button>
            <span className="muted small">Page {pageIndex + 1}</span>
            <button type="button" className="btn btn-secondary btn-small" onClick={() => page.next_cursor && setCursors((c) => [...c, page.next_cursor])} disabled={!page.next_cursor}>
              Next page
            </button>
          </nav>
        )}
      </section>

      <section className="card" aria-labelledby="duplicates-heading">
        <h2 id="duplicates-heading">Duplicates</h2>
        <Duplicates version={version} onChanged={changed} />
      </section>
    </Page>
  );
}
