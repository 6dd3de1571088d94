import { useState } from 'react';
import { downloadWithBearer } from '@fedward/ui/download';

const FILES: { file: string; label: string; note: string }[] = [
  { file: 'model.json', label: 'Model (TF.js): model.json', note: 'the shared model after the last finished round, and how to prepare a slice for it' },
  { file: 'weights.bin', label: 'Model (TF.js): weights.bin', note: 'save it next to model.json; tf.loadLayersModel reads both' },
  { file: 'privacy-card.html', label: 'Privacy model card (printable page)', note: "the study's settings, its full privacy record, and your own counts and results" },
  { file: 'privacy-card.json', label: 'Privacy model card (JSON)', note: 'the same card, for machines' },
];

/**
 * Step 6: the study's shared model and this hospital's copy of its privacy model card, fetched
 * with the enrolment token. The card leaves out what other hospitals reported about themselves.
 */
export function TakeHomeCard({ token, studyId, studyName, rounds }: { token: string; studyId: string; studyName: string; rounds: number }) {
  const [error, setError] = useState<string | null>(null);
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
        ONNX is not offered yet: no model type has a checked ONNX export.
      </p>
      <ul>
        {FILES.map((f) => (
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
