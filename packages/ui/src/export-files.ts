import { onnxSupport } from '@fedward/models/onnx-support';
import { EXPORT_FILES, HOSPITAL_EXPORT_FILES, type ExportName, type ModelSpec } from '@fedward/protocol';

/** One file a page offers to take home: its name on the server, the button's label, and what it holds. */
export interface OfferedFile {
  file: ExportName;
  label: string;
  note: string;
}

const LABELS: Record<ExportName, string> = {
  'model.json': 'Model (TF.js): model.json',
  'weights.bin': 'Model (TF.js): weights.bin',
  'model.onnx': 'Model (ONNX): model.onnx',
  'privacy-card.html': 'Privacy model card (printable page)',
  'privacy-card.json': 'Privacy model card (JSON)',
  'rounds.csv': 'Rounds and metrics (CSV)',
  'ledger.csv': 'Privacy ledger (CSV)',
};

/** The admin reads the technical note; a clinician reads plain words and learns the card is their own copy. */
const ADMIN_NOTES: Record<ExportName, string> = {
  'model.json': 'topology, weight manifest, and how to prepare a slice',
  'weights.bin': 'save next to model.json; tf.loadLayersModel reads both',
  'model.onnx': 'one file for ONNX Runtime and other ONNX tools: input "slice" as for TF.js (NHWC), the same outputs; its metadata say how to prepare a slice',
  'privacy-card.html': 'task, data per hospital (counts), the full privacy ledger, evaluation with 95% intervals',
  'privacy-card.json': 'the same card, for machines',
  'rounds.csv': 'per round and hospital',
  'ledger.csv': 'ε per patient and per hospital after every round',
};

const HOSPITAL_NOTES: Record<(typeof HOSPITAL_EXPORT_FILES)[number], string> = {
  'model.json': 'the shared model after the last finished round, and how to prepare a slice for it',
  'weights.bin': 'save it next to model.json; tf.loadLayersModel reads both',
  'model.onnx': 'the same model as one file for ONNX Runtime and other ONNX tools; it takes the same prepared slices and says in its metadata how to prepare them',
  'privacy-card.html': "the study's settings, its full privacy record, and your own counts and results",
  'privacy-card.json': 'the same card, for machines',
};

/**
 * What a page offers to take home, for the admin (every export) or an enrolled hospital (the model
 * and its copy of the card). model.onnx only where the study's model family exports to ONNX; without
 * `modelKind` it is left out, since the page cannot tell. `onnxNote` says why ONNX is missing, when it is.
 */
export function offeredExports(audience: 'admin' | 'hospital', modelKind: ModelSpec['kind'] | undefined): { files: OfferedFile[]; onnxNote: string | null } {
  const onnx = modelKind === undefined ? null : onnxSupport({ kind: modelKind });
  const names: readonly ExportName[] = audience === 'admin' ? EXPORT_FILES : HOSPITAL_EXPORT_FILES;
  const notes: Partial<Record<ExportName, string>> = audience === 'admin' ? ADMIN_NOTES : HOSPITAL_NOTES;
  const files = names.filter((file) => file !== 'model.onnx' || onnx?.supported === true).map((file) => ({ file, label: LABELS[file], note: notes[file] ?? '' }));
  return { files, onnxNote: onnx && !onnx.supported ? `ONNX: ${onnx.reason}` : null };
}
