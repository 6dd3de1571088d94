import type { ExportName, ModelSpec } from '@fedward/protocol';
import { offeredExports } from '@fedward/ui/export-files';
import { ExportFileList } from '@fedward/ui/ExportFileList';

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
  onExport: (file: ExportName) => Promise<void>;
  modelKind?: ModelSpec['kind'];
}) {
  const { files, onnxNote } = offeredExports('admin', modelKind);
  return (
    <div data-testid="exports">
      <p className="muted">
        {round === 0 ? 'No round has finished yet: the files hold the initial model.' : `The global model after round ${round}.`} {onnxNote}
      </p>
      <ExportFileList files={files} disabled={!controlsEnabled} save={onExport} failure={(file, message) => `${file}: ${message}`} />
    </div>
  );
}
