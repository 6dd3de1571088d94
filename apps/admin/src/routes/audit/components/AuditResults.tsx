import type { DefenceResult } from '../../../types/leakage-audit';
import { saveBlob } from '@fedward/ui/download';
import { ActionFeedback } from '../../../features/action-feedback/ActionFeedback';
import { useActionFeedback } from '../../../features/action-feedback/useActionFeedback';
import { auditSummary, defenceName, formatPsnr } from '../audit-report';
import type { AuditRun } from '../hooks/useLeakageAudit';
import { GrayImage, grayPng } from './GrayImage';

/** One row per defence: each demo slice beside its reconstruction, with PSNR, SSIM and downloads. */
export function AuditResults({ results, run }: { results: DefenceResult[]; run: AuditRun }) {
  return (
    <div className="audit-results">
      <p className="muted">
        PSNR (in dB) and SSIM (at most 1) say how close each rebuilt slice is to the real one: the higher they are, the more the update leaked. They are taken
        after giving the rebuilt slice the real one’s brightness and contrast, which the model’s input hides.
      </p>
      {results.map((r) => (
        <DefenceRow key={r.defence} result={r} run={run} />
      ))}
    </div>
  );
}

function DefenceRow({ result: r, run }: { result: DefenceResult; run: AuditRun }) {
  const area = r.size * r.size;
  const slice = (images: Float32Array, i: number) => images.subarray(i * area, (i + 1) * area);
  const summary = auditSummary(r, run.settings);
  const headingId = `audit-${r.defence}-heading`;
  return (
    <section className="audit-row" aria-labelledby={headingId} data-testid="leakage-result" data-defence={r.defence}>
      <h3 id={headingId}>{defenceName(r.defence)}</h3>
      <p className="muted">{r.note}</p>
      {r.epsilon !== null && (
        <p>
          ε per patient: <strong data-testid="leakage-epsilon">{r.epsilon.toFixed(2)}</strong> (at δ = {r.defence === 'dp' ? run.settings.dp.delta : run.settings.dpSgd.delta})
        </p>
      )}
      <div className="row audit-images">
        {r.labels.map((label, i) => (
          <div key={i} className="audit-pair" data-testid="leakage-image">
            <div className="row">
              <figure>
                <GrayImage values={slice(r.originals, i)} size={r.size} label={`Demo slice ${i + 1} (${label === 1 ? 'lesion' : 'normal'})`} testId="leakage-original" />
                <figcaption>Demo slice {i + 1}</figcaption>
              </figure>
              <figure>
                <GrayImage values={slice(r.reconstructions, i)} size={r.size} label={`What the attack rebuilt of demo slice ${i + 1}`} testId="leakage-reconstruction" />
                <figcaption>Rebuilt by the attack</figcaption>
              </figure>
            </div>
            <p>
              Slice {i + 1}: PSNR <span data-testid="leakage-psnr">{formatPsnr(r.psnr[i]!)}</span> dB, SSIM <span data-testid="leakage-ssim">{r.ssim[i]!.toFixed(3)}</span>
            </p>
            <div className="row">
              <SaveButton label={`Original ${i + 1} (PNG)`} file={`${r.defence}-original-${i}.png`} make={() => grayPng(slice(r.originals, i), r.size)} />
              <SaveButton label={`Reconstruction ${i + 1} (PNG)`} file={`${r.defence}-reconstruction-${i}.png`} make={() => grayPng(slice(r.reconstructions, i), r.size)} />
            </div>
          </div>
        ))}
      </div>
      <SaveButton label="Results (JSON)" file={`leakage-audit-${r.defence}.json`} make={() => Promise.resolve(new Blob([`${JSON.stringify(summary)}\n`], { type: 'application/json' }))} />
    </section>
  );
}

/** A download of a file made in the page; a failure is said next to it (the browser shows the saved file itself). */
function SaveButton({ label, file, make }: { label: string; file: string; make: () => Promise<Blob> }) {
  const { busy, feedback, run } = useActionFeedback();
  return (
    <span>
      <button
        type="button"
        className="secondary"
        disabled={busy}
        onClick={() =>
          void run(
            async () => saveBlob(await make(), file),
            () => `Saved ${file}.`,
            (message) => `${file} could not be saved: ${message}`,
          )
        }
      >
        Download {label}
      </button>
      {feedback && !feedback.ok && <ActionFeedback feedback={feedback} />}
    </span>
  );
}
