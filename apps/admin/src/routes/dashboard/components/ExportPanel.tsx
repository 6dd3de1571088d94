import { useState } from 'react';

const FILES: { file: string; label: string; note: string }[] = [
  { file: 'model.json', label: 'Model (TF.js): model.json', note: 'topology, weight manifest, and how to prepare a slice' },
  { file: 'weights.bin', label: 'Model (TF.js): weights.bin', note: 'save next to model.json; tf.loadLayersModel reads both' },
  { file: 'privacy-card.html', label: 'Privacy model card (printable page)', note: 'task, data per hospital (counts), the full privacy ledger, evaluation with 95% intervals' },
  { file: 'privacy-card.json', label: 'Privacy model card (JSON)', note: 'the same card, for machines' },
  { file: 'rounds.csv', label: 'Rounds and metrics (CSV)', note: 'per round and hospital' },
  { file: 'ledger.csv', label: 'Privacy ledger (CSV)', note: 'ε per patient and per hospital after every round' },
];

/**
 * The study's latest global model to take home (TF.js files), its privacy model card, and the
 * rounds and ledger as CSV. ONNX is not offered: no model family has a checked ONNX export yet.
 */
export function ExportPanel({ round, controlsEnabled, onExport }: { round: number; controlsEnabled: boolean; onExport: (file: string) => Promise<void> }) {
  const [error, setError] = useState<string | null>(null);
  return (
    <div data-testid="exports">
      <p className="muted">
        {round === 0 ? 'No round has finished yet: the files hold the initial model.' : `The global model after round ${round}.`} ONNX: not available yet (no
        model family has a checked ONNX export).
      </p>
      <ul>
        {FILES.map((f) => (
          <li key={f.file}>
            <button
              type="button"
              className="link"
              disabled={!controlsEnabled}
              onClick={() => {
                setError(null);
                onExport(f.file).catch((e: Error) => setError(`${f.file}: ${e.message}`));
              }}
            >
              {f.label}
            </button>{' '}
            <span className="muted small">({f.note})</span>
          </li>
        ))}
      </ul>
      {error && (
        <p className="error" role="alert">
          {error}
        </p>
      )}
    </div>
  );
}
