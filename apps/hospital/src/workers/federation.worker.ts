/// <reference lib="webworker" />
// Importing these registers the webgpu and wasm backends with TF.js (browser-only, hence here).
import '@tensorflow/tfjs-backend-webgpu';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import wasmPlain from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm?url';
import wasmSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-simd.wasm?url';
import wasmThreadedSimd from '@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm-threaded-simd.wasm?url';
import { registerWasmTrainingKernels, setWasmTrainingThreads, startWasmTrainingThreads } from '@fedward/wasm-training';
import { participate, ParticipantError, type ClientEvent, type SentMessage } from '@fedward/client';
import { activateBackend, createDetEngine, createModel, parseBackendOverride, runBackendLadder, type LadderOutcome, type LadderStep } from '@fedward/models';
import { encodeWeights, type BackendName, type FederationConfig, type NamedTensor } from '@fedward/protocol';
import { patientIdStatus, type DatasetSummary } from '@fedward/data';
import { saveLatestModel } from '../api/latest-model';
import { localStore, modelClasses, modelNormalization, storeDataset } from '../api/local-data';
import { indexedDbTrainingState } from '../api/training-state';

/**
 * A hospital's whole participation (backend ladder, training, upload, evaluation) runs here, so
 * TF.js never blocks the page. The page sends one 'start'; events come back until 'end' or
 * 'error'. Leaving is terminating this worker.
 */
export type FederationRequest = {
  type: 'start';
  token: string;
  /** The study to join, and the digest of its plan that the hospital accepted. */
  study: string;
  planDigest: string;
  config: FederationConfig;
  summary: DatasetSummary;
  /** `?backend=` from the page's URL: only the backends it names are tried, in that order. */
  backends: string | null;
};
export type FederationReply =
  | { type: 'probe'; step: LadderStep }
  | { type: 'ladder'; outcome: LadderOutcome; wasmThreads: { backend: number; kernels: number } | null }
  | { type: 'event'; event: ClientEvent }
  /** A message just sent to the server: the hospital's receipt of it. */
  | { type: 'sent'; message: SentMessage }
  | { type: 'end' }
  /** `final`: the server refused this hospital for good (ParticipantError: token revoked, replaced by a newer connection…). */
  | { type: 'error'; message: string; final: boolean };

const post = (m: FederationReply) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

function prepareWasm(): void {
  setWasmPaths({
    'tfjs-backend-wasm.wasm': wasmPlain,
    'tfjs-backend-wasm-simd.wasm': wasmSimd,
    'tfjs-backend-wasm-threaded-simd.wasm': wasmThreadedSimd,
  });
  // Two threads for the training kernels (@fedward/wasm-training's workers) when the page is
  // isolated and the machine has two cores; XNNPACK's own pool keeps one thread, since its threads
  // spin after each of its ops and would take the core the kernel workers need (see
  // packages/wasm-training/README).
  setThreadsCount(1);
  if (self.crossOriginIsolated && navigator.hardwareConcurrency >= 2) setWasmTrainingThreads(2);
  registerWasmTrainingKernels();
}

/**
 * Activates a ladder candidate; for wasm, also starts the workers that run the training kernels
 * beside this thread, so that its self-check and benchmark already use them.
 */
async function activate(backend: BackendName): Promise<boolean> {
  try {
    await activateBackend([backend]);
  } catch {
    return false;
  }
  if (backend === 'wasm') await startWasmTrainingThreads();
  return true;
}

async function run(msg: FederationRequest): Promise<void> {
  prepareWasm();
  const outcome = await runBackendLadder({
    activate,
    candidates: parseBackendOverride(msg.backends),
    spec: msg.config.model,
    batchSize: msg.config.training.batchSize,
    onResult: (step) => post({ type: 'probe', step }),
  });
  // The kernel workers started when the ladder activated wasm: this only reads how many are ready.
  const wasmThreads = outcome.chosen === 'wasm' ? { backend: getThreadsCount(), kernels: await startWasmTrainingThreads() } : null;
  post({ type: 'ladder', outcome, wasmThreads });
  const store = await localStore();
  const normalization = modelNormalization(msg.config.model);
  /** Reads the weights of the model this hospital uses, once the participant has built it. */
  const used: { weights: (() => NamedTensor[]) | null; personalized: boolean } = { weights: null, personalized: false };
  const events = participate({
    url: self.location.origin,
    token: msg.token,
    study: msg.study,
    planDigest: msg.planDigest,
    onSent: (message) => post({ type: 'sent', message }),
    backend: outcome.chosen,
    train: storeDataset(store, msg.summary, 'train', normalization),
    test: storeDataset(store, msg.summary, 'test', normalization),
    trainingState: indexedDbTrainingState(msg.config.id),
    // Keys the patient → sub-client hash (with the federation id): the store's salt never leaves
    // this browser and stays the same as long as the local data does ("Remove local data" makes a new one).
    subClientSecret: await store.salt(),
    patientIds: patientIdStatus(msg.summary).patientIds,
    createModel: (config) => {
      const model = createModel(config.model);
      used.weights = () => model.getWeights();
      return model;
    },
    createDetEngine: (config) => {
      const det = createDetEngine(config.model);
      used.weights = () => det.getPersonalWeights();
      used.personalized = true;
      return det;
    },
  });
  let config = msg.config;
  for await (const event of events) {
    if (event.type === 'connected') config = event.config;
    // The participant evaluates the model it has just set (the round's global model, this
    // hospital's FedBN model, or its PRR-FL personalized one) and pauses at this event: the
    // weights read now are the ones it measured.
    if (event.type === 'evaluated' && used.weights) await keepModel(msg, config, event, used.weights(), used.personalized);
    post({ type: 'event', event });
  }
  post({ type: 'end' });
}

/** Keeps the model this hospital has just evaluated for "Try the model"; a failure loses only that, not the round. */
async function keepModel(
  msg: FederationRequest,
  config: FederationConfig,
  event: Extract<ClientEvent, { type: 'evaluated' }>,
  weights: NamedTensor[],
  personalized: boolean,
): Promise<void> {
  try {
    await saveLatestModel({
      study: msg.study,
      studyName: config.name,
      round: event.round,
      spec: config.model,
      classes: modelClasses(msg.summary),
      batchSize: config.training.batchSize,
      personalized,
      accuracy: event.accuracy,
      weights: encodeWeights(weights),
      receivedAt: Date.now(),
    });
  } catch (e) {
    console.warn(`the model of round ${event.round} could not be kept for "Try the model": ${e instanceof Error ? e.message : String(e)}`);
  }
}

let started = false;
self.onmessage = (event: MessageEvent<FederationRequest>) => {
  if (started || event.data.type !== 'start') return;
  started = true;
  run(event.data).catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e), final: e instanceof ParticipantError }));
};
