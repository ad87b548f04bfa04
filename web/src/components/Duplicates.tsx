import { useEffect, useState } from 'react';
import { api } from '../api/client';
import type { DuplicateGroup, DuplicatesReport } from '../api/types';
import { formatBytes, formatDate } from '../format';
import { Alert } from './Alert';
import { messageOf } from './Form';
import { TrashIcon } from './Icons';
import { Loading } from './Page';

/** Deletes every copy but the oldest of each group; returns how many files went. */
async function removeCopies(groups: DuplicateGroup[]): Promise<number> {
  let removed = 0;
  for (const g of groups) {
    for (const f of g.files.slice(1)) {
      await api(`/files/${encodeURIComponent(f.id)}`, { method: 'DELETE' });
      removed += 1;
    }
  }
  return removed;
}

/** The declutter report: files with the same content, and one click to keep only the oldest. */
export function Duplicates({ version, onChanged }: { version: number; onChanged: (message: string) => void }) {
  const [report, setReport] = useState<DuplicatesReport | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    let live = true;
    api<DuplicatesReport>('/files/duplicates', { query: { limit: 50 } })
      .then((r) => live && setReport(r))
      .catch((err: unknown) => live && setError(messageOf(err)));
    return () => {
      live = false;
    };
  }, [version]);

  const clean = async (groups: DuplicateGroup[], freed: number) => {
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      const n = await removeCopies(groups);
      onChanged(`Removed ${n} ${n === 1 ? 'copy' : 'copies'}, freeing ${formatBytes(freed)}.`);
    } catch (err) {
      setError(messageOf(err));
      onChanged('Some copies could not be removed.');
    } finally {
      setBusy(false);
    }
  };

  if (error && !report) {
    return (
      <Alert kind="error">
        <p>{error}</p>
      </Alert>
    );
  }
  if (!report) return <Loading label="Looking for duplicates…" />;
  if (report.group_count === 0) return <p className="muted">No duplicates: every file you have is different.</p>;

  return (
    <div className="stack">
      {error && (
        <Alert kind="error">
          <p>{error}</p>
        </Alert>
      )}
      <p>
        {report.group_count} {report.group_count === 1 ? 'file has' : 'files have'} copies. Removing the copies frees <strong>{formatBytes(report.reclaimable_bytes)}</strong>.
      </p>
      <ul className="list" aria-label="Files with copies">
        {report.items.map((g) => {
          const [kept, ...copies] = g.files;
          if (!kept) return null;
          return (
            <li key={g.sha256} className="stack">
              <div className="item">
                <div className="item-main">
                  <div className="item-title">
                    {g.copies} copies of {kept.name}
                  </div>
                  <div className="small muted">
                    {formatBytes(g.size)} each · {formatBytes(g.reclaimable_bytes)} to free
                  </div>
                </div>
                <button type="button" className="btn btn-danger btn-small" onClick={() => void clean([g], g.reclaimable_bytes)} aria-disabled={busy} aria-label={`Remove ${copies.length} ${copies.length === 1 ? 'copy' : 'copies'} of ${kept.name}, keep the oldest`}>
                  <TrashIcon />
                  Remove {copies.length} {copies.length === 1 ? 'copy' : 'copies'}
                </button>
              </div>
              <ul className="small">
                <li>
                  Kept: {kept.name} ({formatDate(kept.created_at)}, the oldest)
                </li>
                {copies.map((f) => (
                  <li key={f.id}>
                    Copy: {f.name} ({formatDate(f.created_at)})
                  </li>
                ))}
              </ul>
            </li>
          );
        })}
      </ul>
      {report.items.length > 1 && (
        <button type="button" className="btn btn-danger" onClick={() => void clean(report.items, report.items.reduce((n, g) => n + g.reclaimable_bytes, 0))} aria-disabled={busy}>
          <TrashIcon />
          Remove every copy, keep the oldest of each
        </button>
      )}
    </div>
  );
}
