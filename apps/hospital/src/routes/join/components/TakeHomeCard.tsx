import { useState } from 'react';
import type { ExportName, ModelSpec } from '@fedward/protocol';
import { downloadWithBearer } from '@fedward/ui/download';
import { offeredExports } from '@fedward/ui/export-files';
import { ExportFileList } from '@fedward/ui/ExportFileList';

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
  const { files, onnxNote } = offeredExports('hospital', modelKind);
  const [busy, setBusy] = useState(false);
  const save = async (file: ExportName) => {
    setBusy(true);
    try {
      await downloadWithBearer(token, `/api/studies/${encodeURIComponent(studyId)}/${file}`, `${studyId}-${file}`, 'the server no longer accepts this enrolment token');
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="take-home-heading" data-testid="take-home">
      <h2 id="take-home-heading">6 · Take the model home</h2>
      <p className="muted">
        {rounds === 0
          ? `No round of ${studyName} has finished yet: the files hold the starting model.`
          : `The shared model of ${studyName} after ${rounds === 1 ? 'round 1' : `${rounds} rounds`}.`}{' '}
        {onnxNote}
      </p>
      <ExportFileList files={files} disabled={busy} save={save} failure={(file, message) => `${file} could not be downloaded: ${message}`} />
    </section>
  );
}
