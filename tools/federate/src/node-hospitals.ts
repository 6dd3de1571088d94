// IndexedDB for the slice stores, in memory (this process has no browser).
import 'fake-indexeddb/auto';
import { participate, type ClientEvent } from '@fedward/client';
import { importFiles, openSliceStore, patientIdStatus, type DatasetSummary, type SliceStore } from '@fedward/data';
import { folderImportFiles } from '@fedward/data/node';
import { createDetEngine, createModel } from '@fedward/models';
import type { BackendName, FederationConfig } from '@fedward/protocol';
import { nodeTrainingBackend } from '@fedward/wasm-training/node';
// The hospital app's own split of the stored slices (patient-disjoint held-out set) and its
// readiness checks, so Node hospitals train and measure on exactly what a browser would.
import { readinessProblems, storeDataset } from '../../../apps/hospital/src/api/local-data';
import type { HospitalData } from './federation-data';
import type { Timeline } from './timeline';

export interface NodeRunOptions {
  url: string;
  /** The study to join (the one the server's start flags describe). */
  study: string;
  hospitals: HospitalData[];
  tokens: Record<string, string>;
  backend: 'wasm' | 'cpu';
  timeline: Timeline;
  signal: AbortSignal;
  log: (line: string) => void;
}

export interface NodeRunResult {
  /** The TF.js backend this process trains on (wasm falls back to cpu where it cannot start). */
  backend: BackendName;
}

interface StudyForToken {
  id: string;
  config: FederationConfig;
  planDigest: string;
}

/**
 * Node hospitals in this process, each with its own slice store (IndexedDB in memory, through
 * fake-indexeddb) filled by the same import the hospital page runs, then `participate()` from
 * @fedward/client. They share this process's TF.js backend and take turns on its thread.
 */
export async function runNodeHospitals(o: NodeRunOptions): Promise<NodeRunResult> {
  const backend: BackendName = await nodeTrainingBackend(o.backend);
  if (backend !== o.backend) o.log(`TF.js ${o.backend} did not start in Node; the hospitals train on ${backend}`);
  const joined: { hospital: HospitalData; store: SliceStore; summary: DatasetSummary; study: StudyForToken }[] = [];
  for (const h of o.hospitals) {
    // What the hospital page shows before joining: the study's settings and the plan to accept.
    const study = await studyFor(o.url, o.tokens[h.id]!, o.study);
    const store = await openSliceStore(`federate-${h.id}`);
    const started = performance.now();
    const result = await importFiles(await folderImportFiles(h.folder), { store, targetSize: study.config.model.inputSize, skipQuotaCheck: true });
    const ms = performance.now() - started;
    if (result.failed.length > 0) throw new Error(`${h.id}: ${result.failed.length} files could not be imported (first: ${result.failed[0]!.file}: ${result.failed[0]!.error})`);
    const problems = readinessProblems(result.summary, study.config.model);
    if (problems.length > 0) throw new Error(`${h.id} cannot join: ${problems.join(' ')}`);
    o.timeline.imported(h.id, ms);
    o.log(`${h.id}: imported ${result.imported} slices in ${(ms / 1000).toFixed(1)} s`);
    joined.push({ hospital: h, store, summary: result.summary, study });
  }
  // One hospital failing ends the run: the others are told to stop instead of waiting for it.
  const stop = new AbortController();
  const abort = () => stop.abort();
  o.signal.addEventListener('abort', abort);
  try {
    await Promise.all(
      joined.map(async ({ hospital, store, summary, study }) => {
        const normalization = study.config.model.normalization ?? 'zscore';
        o.timeline.joining(hospital.id, Date.now());
        const events = participate({
          url: o.url,
          token: o.tokens[hospital.id]!,
          study: study.id,
          planDigest: study.planDigest,
          backend,
          train: storeDataset(store, summary, 'train', normalization),
          test: storeDataset(store, summary, 'test', normalization),
          subClientSecret: await store.salt(),
          patientIds: patientIdStatus(summary).patientIds,
          createModel: (config) => createModel(config.model),
          createDetEngine: (config) => createDetEngine(config.model),
          signal: stop.signal,
        });
        try {
          for await (const e of events) onEvent(o, hospital.id, e);
        } catch (e) {
          stop.abort();
          throw new Error(`${hospital.id}: ${(e as Error).message}`);
        } finally {
          store.close();
        }
      }),
    );
  } finally {
    o.signal.removeEventListener('abort', abort);
  }
  if (o.signal.aborted) throw new Error('stopped before the study finished');
  return { backend };
}

function onEvent(o: NodeRunOptions, hospital: string, e: ClientEvent): void {
  o.timeline.event(hospital, e, Date.now());
  if (e.type === 'rejected') o.log(`${hospital}: the server refused a message: ${e.error.message}`);
}

/** GET /api/studies with the hospital's token: the study's settings and the digest of its plan. */
async function studyFor(url: string, token: string, id: string): Promise<StudyForToken> {
  const res = await fetch(`${url}/api/studies`, { headers: { authorization: `Bearer ${token}` } });
  if (!res.ok) throw new Error(`token check: ${res.status} ${await res.text()}`);
  const { hospital, studies } = (await res.json()) as { hospital: string; studies: StudyForToken[] };
  const study = studies.find((s) => s.id === id);
  if (!study) throw new Error(`${hospital} is not enrolled in study ${id}`);
  return study;
}
