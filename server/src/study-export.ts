import { exportLayersModel } from '@fedward/models';
import type { Coordinator } from './coordinator';
import type { Store } from './store';

/** One downloadable file of a study: its name, MIME type and bytes. */
export interface ExportFile {
  filename: string;
  type: string;
  body: string | Uint8Array;
}

/** The files a study exports, by the last part of their URL. */
export const EXPORT_FILES = ['model.json', 'weights.bin'] as const;
export type ExportName = (typeof EXPORT_FILES)[number];

/**
 * A study's latest global model as a TF.js Layers model: model.json (topology, weights manifest,
 * and how to prepare a slice) and weights.bin, loadable by `tf.loadLayersModel`. Under FedBN and
 * PRR-FL this is the plain average the server keeps; each hospital's own model stays with it.
 */
export async function exportStudyFile(c: Coordinator, store: Store, name: ExportName): Promise<ExportFile> {
  const latest = store.latestRound(c.config.id);
  const exported = await exportLayersModel(c.config.model, latest.weights, { round: latest.round });
  if (name === 'model.json') return { filename: 'model.json', type: 'application/json', body: JSON.stringify(exported.modelJson, null, 1) };
  return { filename: 'weights.bin', type: 'application/octet-stream', body: exported.weightsBin };
}
