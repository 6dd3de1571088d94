/** A labelled progress bar; `value` in [0, 1], or null for "waiting". */
export function ProgressBar({ label, value, detail, testId }: { label: string; value: number | null; detail?: string; testId?: string }) {
  const pct = value === null ? 0 : Math.round(Math.min(1, Math.max(0, value)) * 100);
  return (
    <div className="progress" data-testid={testId}>
      <div className="progress-label">
        <span>{label}</span>
        <span>{detail ?? (value === null ? '' : `${pct}%`)}</span>
      </div>
      <div className="progress-track" role="progressbar" aria-label={label} aria-valuenow={pct} aria-valuemin={0} aria-valuemax={100}>
        <div className="progress-fill" style={{ width: `${pct}%` }} />
      </div>
    </div>
  );
}
