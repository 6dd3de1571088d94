import { useState } from 'react';
import type { ModelSpec } from '@fedward/protocol';
import { onnxSupport } from '@fedward/models/onnx-support';

const FILES: { file: string; label: string; note: string }[] = [
  { file: 'model.json', label: 'Model (TF.js): model.json', note: 'topology, weight manifest, and how to prepare a slice' },
  { file: 'weights.bin', label: 'Model (TF.js): weights.bin', note: 'save next to model.json; tf.loadLayersModel reads both' },
  {
    file: 'model.onnx',
    label: 'Model (ONNX): model.onnx',
    note: 'one file for ONNX Runtime and other ONNX tools: input "slice" as for TF.js (NHWC), the same outputs; its metadata say how to prepare a slice',
  },
  { file: 'privacy-card.html', label: 'Privacy model card (printable page)', note: 'task, data per hospital (counts), the full privacy ledger, evaluation with 95% intervals' },
  { file: 'privacy-card.json', label: 'Privacy model card (JSON)', note: 'the same card, for machines' },
  { file: 'rounds.csv', label: 'Rounds and metrics (CSV)', note: 'per round and hospital' },
  { file: 'ledger.csv', label: 'Privacy ledger (CSV)', note: 'ε per patient and per hospital after every round' },
];

/**
 * The study's latest global model to take home (TF.js files, and model.onnx where the model's
 * family exports to ONNX), its privacy model card, and the rounds and ledger as CSV. `modelKind`:
 * the study's model family; without it the ONNX file is not offered (the panel cannot tell whether it exports).
 */
export function ExportPanel({
  round,
  controlsEnabled,
  onExport,
  modelKind,
}: {
  round: number;
  controlsEnabled: boolean;
  onExport: (file: string) => Promise<void>;
  modelKind?: ModelSpec['kind'];
}) {
  const [error, setError] = useState<string | null>(null);
  const onnx = modelKind === undefined ? null : onnxSupport({ kind: modelKind });
  const files = onnx?.supported ? FILES : FILES.filter((f) => f.file !== 'model.onnx');
  return (
    <div data-testid="exports">
      <p className="muted">
        {round === 0 ? 'No round has finished yet: the files hold the initial model.' : `The global model after round ${round}.`}{' '}
        {onnx && !onnx.supported ? `ONNX: ${onnx.reason}` : null}
      </p>
      <ul>
        {files.map((f) => (
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
