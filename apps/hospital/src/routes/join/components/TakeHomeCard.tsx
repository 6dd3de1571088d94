import { useState } from 'react';
import type { ModelSpec } from '@fedward/protocol';
import { onnxSupport } from '@fedward/models/onnx-support';
import { downloadWithBearer } from '@fedward/ui/download';

const FILES: { file: string; label: string; note: string }[] = [
  { file: 'model.json', label: 'Model (TF.js): model.json', note: 'the shared model after the last finished round, and how to prepare a slice for it' },
  { file: 'weights.bin', label: 'Model (TF.js): weights.bin', note: 'save it next to model.json; tf.loadLayersModel reads both' },
  {
    file: 'model.onnx',
    label: 'Model (ONNX): model.onnx',
    note: 'the same model as one file for ONNX Runtime and other ONNX tools; it takes the same prepared slices and says in its metadata how to prepare them',
  },
  { file: 'privacy-card.html', label: 'Privacy model card (printable page)', note: "the study's settings, its full privacy record, and your own counts and results" },
  { file: 'privacy-card.json', label: 'Privacy model card (JSON)', note: 'the same card, for machines' },
];

/**
 * Step 6: the study's shared model (TF.js files, and model.onnx where the model's family exports
 * to ONNX) and this hospital's copy of its privacy model card, fetched with the enrolment token.
 * The card leaves out what other hospitals reported about themselves. `modelKind`: the study's
 * model family; without it the ONNX file is not offered (the card cannot tell whether it exports).
 */
export function TakeHomeCard({
  token,
  studyId,
  studyName,
  rounds,
  modelKind,
}: {
  token: string;
  studyId: string;
  studyName: string;
  rounds: number;
  modelKind?: ModelSpec['kind'];
}) {
  const [error, setError] = useState<string | null>(null);
  const onnx = modelKind === undefined ? null : onnxSupport({ kind: modelKind });
  const files = onnx?.supported ? FILES : FILES.filter((f) => f.file !== 'model.onnx');
  const [busy, setBusy] = useState<string | null>(null);
  const save = (file: string) => {
    setError(null);
    setBusy(file);
    downloadWithBearer(token, `/api/studies/${encodeURIComponent(studyId)}/${file}`, `${studyId}-${file}`, 'the server no longer accepts this enrolment token')
      .catch((e: Error) => setError(`${file} could not be downloaded: ${e.message}`))
      .finally(() => setBusy(null));
  };
  return (
    <section className="card" aria-labelledby="take-home-heading" data-testid="take-home">
      <h2 id="take-home-heading">6 · Take the model home</h2>
      <p className="muted">
        {rounds === 0
          ? `No round of ${studyName} has finished yet: the files hold the starting model.`
          : `The shared model of ${studyName} after ${rounds === 1 ? 'round 1' : `${rounds} rounds`}.`}{' '}
        {onnx && !onnx.supported ? `ONNX: ${onnx.reason}` : null}
      </p>
      <ul>
        {files.map((f) => (
          <li key={f.file}>
            <button type="button" className="link" disabled={busy !== null} onClick={() => save(f.file)}>
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
    </section>
  );
}
