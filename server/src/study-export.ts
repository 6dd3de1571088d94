import { readFileSync } from 'node:fs';
import { exportLayersModel, onnxSupport } from '@fedward/models';
import { exportOnnx } from '@fedward/models/onnx';
import { buildPrivacyCard, hospitalCopy, ledgerCsv, renderPrivacyCardHtml, roundsCsv, type PrivacyCard } from '@fedward/model-card';
import { isHospitalExportName, type ExportName } from '@fedward/protocol';
import type { Coordinator } from './coordinator';
import type { Store } from './store';

/** One downloadable file of a study: its name, MIME type and bytes. */
export interface ExportFile {
  filename: string;
  type: string;
  body: string | Uint8Array;
}

/**
 * A file this study cannot export (model.onnx for a model family whose ops have no clean ONNX
 * mapping): `status` (409) and the message, which names the blocking op, are for the client.
 */
export class ExportUnavailableError extends Error {
  readonly status = 409;
}

/**
 * A study's latest global model as a TF.js Layers model: model.json (topology, weights manifest,
 * and how to prepare a slice) and weights.bin, loadable by `tf.loadLayersModel`; and as
 * model.onnx (same input, same metadata) where onnxSupport says the family's ops allow it, else
 * an ExportUnavailableError naming the blocking op. Under FedBN and PRR-FL this is the plain
 * average the server keeps; each hospital's own model stays with it.
 */
export async function exportStudyFile(c: Coordinator, store: Store, name: ExportName, forHospital: string | null = null): Promise<ExportFile> {
  if (forHospital !== null && !isHospitalExportName(name)) throw new Error(`${name} is not a hospital's to export`);
  const card = () => (forHospital === null ? privacyCard(c, store) : hospitalCopy(privacyCard(c, store), forHospital));
  if (name === 'rounds.csv') return { filename: name, type: 'text/csv; charset=utf-8', body: roundsCsv(snapshotOf(c, store).rounds, { model: c.config.model.kind }) };
  if (name === 'privacy-card.json') return { filename: name, type: 'application/json', body: JSON.stringify(card(), null, 1) };
  if (name === 'privacy-card.html') return { filename: name, type: 'text/html; charset=utf-8', body: renderPrivacyCardHtml(card()) };
  if (name === 'ledger.csv') return { filename: name, type: 'text/csv; charset=utf-8', body: ledgerCsv(privacyCard(c, store)) };
  const latest = store.latestRound(c.config.id);
  if (name === 'model.onnx') {
    const support = onnxSupport(c.config.model);
    if (!support.supported) throw new ExportUnavailableError(support.reason);
    return { filename: 'model.onnx', type: 'application/octet-stream', body: exportOnnx(c.config.model, latest.weights, { round: latest.round }) };
  }
  const exported = await exportLayersModel(c.config.model, latest.weights, { round: latest.round });
  if (name === 'model.json') return { filename: 'model.json', type: 'application/json', body: JSON.stringify(exported.modelJson, null, 1) };
  return { filename: 'weights.bin', type: 'application/octet-stream', body: exported.weightsBin };
}

const snapshotOf = (c: Coordinator, store: Store) => c.snapshot(store.tokens(c.config.id), store.enrolled(c.config.id));

const SOFTWARE_VERSION = `fedward ${(JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }).version}`;

/**
 * The study's privacy model card: built from the same snapshot the admin sees (public settings,
 * released values, the ledger's ε per round, the hospitals' reported evaluations), so the card's
 * ledger is the server's.
 */
export function privacyCard(c: Coordinator, store: Store): PrivacyCard {
  const s = snapshotOf(c, store);
  return buildPrivacyCard({ config: s.config, rounds: s.rounds, hospitals: s.hospitals, privacy: s.privacy, softwareVersion: SOFTWARE_VERSION, planDigest: c.planDigest });
}
