import { useState } from 'react';
import type { Defence } from '@fedward/leakage-audit';
import type { AuditSettings } from '../../../types/leakage-audit';
import { defenceName, parseCount } from '../audit-report';

/** Bounds of the attack's budget: enough for a real audit, short of freezing a laptop for hours. */
const LIMITS = { localSteps: [1, 20], restarts: [1, 8], iterations: [1, 2000] } as const;

/**
 * The run's choices: the demo slices, the local steps, the attack's budget and the defences to
 * compare. The study's learning rate, z, C and δ are its own and shown, not chosen here.
 */
export function AuditForm({
  initial,
  implemented,
  running,
  onRun,
  onCancel,
}: {
  initial: AuditSettings;
  /** The package's IMPLEMENTED_DEFENCES, in its order. */
  implemented: readonly Defence[];
  running: boolean;
  onRun: (s: AuditSettings) => void;
  onCancel: () => void;
}) {
  const [images, setImages] = useState<1 | 2>(initial.images);
  const [counts, setCounts] = useState({ localSteps: String(initial.localSteps), restarts: String(initial.restarts), iterations: String(initial.iterations) });
  const [defences, setDefences] = useState<Defence[]>(initial.defences);
  const parsed = {
    localSteps: parseCount(counts.localSteps, ...LIMITS.localSteps),
    restarts: parseCount(counts.restarts, ...LIMITS.restarts),
    iterations: parseCount(counts.iterations, ...LIMITS.iterations),
  };
  const problems = [
    ...(Object.keys(LIMITS) as (keyof typeof LIMITS)[]).filter((k) => parsed[k] === null).map((k) => `${FIELD_NAMES[k]}: a whole number from ${LIMITS[k][0]} to ${LIMITS[k][1]}.`),
    ...(defences.length === 0 ? ['Choose at least one defence to compare.'] : []),
  ];
  const submit = () => {
    const { localSteps, restarts, iterations } = parsed;
    if (localSteps === null || restarts === null || iterations === null || defences.length === 0) return;
    // In the package's order, whatever order they were ticked in.
    onRun({ ...initial, images, localSteps, restarts, iterations, defences: implemented.filter((d) => defences.includes(d)) });
  };
  const count = (key: keyof typeof LIMITS) => (
    <label className="stack">
      {FIELD_NAMES[key]}
      <input
        className="number"
        type="number"
        inputMode="numeric"
        min={LIMITS[key][0]}
        max={LIMITS[key][1]}
        step={1}
        value={counts[key]}
        disabled={running}
        aria-invalid={parsed[key] === null}
        onChange={(e) => setCounts((c) => ({ ...c, [key]: e.target.value }))}
      />
    </label>
  );
  return (
    <form
      className="audit-form"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <div className="row">
        <label className="stack">
          Demo slices
          <select value={images} disabled={running} onChange={(e) => setImages(e.target.value === '2' ? 2 : 1)}>
            <option value={1}>1 slice</option>
            <option value={2}>2 slices (one lesion, one normal)</option>
          </select>
        </label>
        {count('localSteps')}
        {count('restarts')}
        {count('iterations')}
      </div>
      <fieldset disabled={running}>
        <legend>Defences to compare</legend>
        {implemented.map((d) => (
          <label key={d} className="checkbox">
            <input type="checkbox" checked={defences.includes(d)} onChange={(e) => setDefences((ds) => (e.target.checked ? [...ds, d] : ds.filter((x) => x !== d)))} />
            {defenceName(d)}
          </label>
        ))}
      </fieldset>
      {problems.length > 0 && (
        <ul className="error" data-testid="leakage-form-problems">
          {problems.map((p) => (
            <li key={p}>{p}</li>
          ))}
        </ul>
      )}
      <div className="row">
        <button type="submit" disabled={running || problems.length > 0}>
          Run attack
        </button>
        <button type="button" className="secondary" disabled={!running} onClick={onCancel}>
          Cancel
        </button>
      </div>
    </form>
  );
}

const FIELD_NAMES: Record<keyof typeof LIMITS, string> = {
  localSteps: 'Local training steps',
  restarts: 'Attack restarts',
  iterations: 'Attack iterations per restart',
};
