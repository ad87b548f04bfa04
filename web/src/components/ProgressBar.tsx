/** A labelled progress bar (0..1) that screen readers can follow. */
export function ProgressBar({ label, value }: { label: string; value: number }) {
  const percent = Math.round(Math.max(0, Math.min(1, value)) * 100);
  return (
    <div>
      <div className="small muted" aria-hidden="true">
        {label}: {percent}%
      </div>
      <div className="bar" role="progressbar" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent}>
        <span style={{ width: `${percent}%` }} />
      </div>
    </div>
  );
}

/** A usage bar: how much of a quota is used. */
export function UsageBar({ used, total, label }: { used: number; total: number; label: string }) {
  const fraction = total > 0 ? Math.min(1, used / total) : 0;
  const percent = Math.round(fraction * 100);
  return (
    <div className={`bar${fraction >= 0.9 ? ' bar-danger' : ''}`} role="meter" aria-label={label} aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-valuetext={`${percent}% used`}>
      <span style={{ width: `${percent}%` }} />
    </div>
  );
}
