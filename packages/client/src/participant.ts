import { io } from 'socket.io-client';
import {
  decodeWeights,
  encodeWeights,
  type BackendName,
  type FederationConfig,
  type ProtocolError,
  type RoundResult,
  type RoundStart,
  type Welcome,
} from '@fedward/protocol';
import {
  decodeOptimizerState,
  encodeOptimizerState,
  mergeOptimizerStates,
  type Dataset,
  type DetEngine,
  type ModelEngine,
  type OptimizerState,
} from '@fedward/models';
import { evaluateDet, startDet, trainDetRound } from './det-round';
import { AsyncQueue } from './async-queue';
import type { ClientEvent } from './events';
import { splitIntoSubClients } from './sub-clients';
import { localEpoch } from './local-epoch';
import { request, uploadUpdate, type HospitalSocket } from './socket';
import { isPatientDataset, memoryTrainingStateStore, type TrainingStateStore } from './training-state';

export interface ParticipantOptions {
  /** Server origin, e.g. http://127.0.0.1:8080 (the browser app passes its own origin). */
  url: string;
  token: string;
  backend: BackendName;
  /** Training data; a PatientDataset can be split into sub-clients when the server asks for VN > 1. */
  train: Dataset;
  test: Dataset;
  /** Keeps each sub-client's optimizer state between rounds (and page reloads); memory by default. */
  trainingState?: TrainingStateStore;
  /** Builds the federation's model once the server has said which one. */
  createModel: (config: FederationConfig) => ModelEngine;
  /** PRR-FL federations: builds the personalized + deputy pair (Deputy-Enhanced Transfer). */
  createDetEngine?: (config: FederationConfig) => DetEngine;
  signal?: AbortSignal;
}


type Inbox =
  | { kind: 'connect' }
  | { kind: 'connect-error'; message: string }
  | { kind: 'disconnect'; reason: string }
  | { kind: 'round-start'; msg: RoundStart }
  | { kind: 'round-result'; msg: RoundResult }
  | { kind: 'done'; round: number; reason?: string }
  | { kind: 'protocol-error'; error: ProtocolError }
  | { kind: 'abort' };

export class ParticipantError extends Error {
  override name = 'ParticipantError';
}

/**
 * Runs one hospital's side of a federation: join, then for every round train from the global
 * weights, upload the update in chunks, and evaluate each new global model on the held-out set.
 * Written as an async generator so a UI can render progress and a test can follow the rounds.
 * Reconnects by itself (Socket.io) and says hello again, so a server restart loses nothing.
 */
export async function* participate(options: ParticipantOptions): AsyncGenerator<ClientEvent, void> {
  const inbox = new AsyncQueue<Inbox>();
  const socket: HospitalSocket = io(options.url, {
    auth: { token: options.token },
    transports: ['websocket'],
    reconnectionDelay: 250,
    reconnectionDelayMax: 2000,
  });
  socket.on('connect', () => inbox.push({ kind: 'connect' }));
  socket.on('connect_error', (err) => inbox.push({ kind: 'connect-error', message: err.message }));
  socket.on('disconnect', (reason) => inbox.push({ kind: 'disconnect', reason }));
  socket.on('round-start', (msg) => inbox.push({ kind: 'round-start', msg }));
  socket.on('round-result', (msg) => inbox.push({ kind: 'round-result', msg }));
  socket.on('federation-done', (msg) => inbox.push({ kind: 'done', round: msg.round, ...(msg.reason ? { reason: msg.reason } : {}) }));
  socket.on('protocol-error', (error) => inbox.push({ kind: 'protocol-error', error }));
  const onAbort = () => inbox.push({ kind: 'abort' });
  options.signal?.addEventListener('abort', onAbort);

  let model: ModelEngine | null = null;
  let det: DetEngine | null = null;
  let config: FederationConfig | null = null;
  const trainingState = options.trainingState ?? memoryTrainingStateStore();
  try {
    for (;;) {
      const item = await inbox.next();
      switch (item.kind) {
        case 'abort':
          return;
        case 'connect-error':
          // The server refuses unknown tokens during the handshake: retrying cannot help.
          if (/token/i.test(item.message)) throw new ParticipantError(item.message);
          yield { type: 'disconnected', reason: item.message };
          break;
        case 'disconnect':
          yield { type: 'disconnected', reason: item.reason };
          break;
        case 'connect': {
          const welcome = await hello(socket, options);
          config = welcome.config;
          const weights = decodeWeights(welcome.weights);
          yield { type: 'connected', hospital: welcome.hospital, config, backend: options.backend };
          if (config.personalization?.strategy === 'prr-fl') {
            if (!options.createDetEngine) throw new ParticipantError('this federation uses PRR-FL, and this client cannot train a personalized model');
            det ??= options.createDetEngine(config);
            await startDet(det, weights, trainingState, config);
            yield* evaluateDet(socket, det, options.test, welcome.round, config);
          } else {
            model ??= options.createModel(config);
            model.setWeights(weights);
            yield* evaluate(socket, model, options.test, welcome.round, config);
          }
          break;
        }
        case 'round-start':
          if (det && config) yield* trainDetRound(socket, det, config, options, trainingState, item.msg);
          else if (model && config) yield* trainRound(socket, model, config, options, trainingState, item.msg);
          break;
        case 'round-result':
          if (!config) break;
          yield { type: 'round-result', round: item.msg.round, participants: item.msg.participants };
          if (det) {
            det.setDeputyWeights(decodeWeights(item.msg.weights));
            yield* evaluateDet(socket, det, options.test, item.msg.round, config);
          } else if (model) {
            model.setWeights(decodeWeights(item.msg.weights));
            yield* evaluate(socket, model, options.test, item.msg.round, config);
          }
          break;
        case 'protocol-error':
          yield { type: 'rejected', error: item.error };
          break;
        case 'done':
          yield { type: 'federation-done', round: item.round, ...(item.reason ? { reason: item.reason } : {}) };
          return;
      }
    }
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    socket.disconnect();
    model?.dispose();
    det?.dispose();
  }
}

function hello(socket: HospitalSocket, options: ParticipantOptions): Promise<Welcome> {
  return new Promise((resolve, reject) => {
    socket.emit(
      'hello',
      { backend: options.backend, trainSamples: options.train.size, testSamples: options.test.size },
      (r) => (r.ok ? resolve(r) : reject(new ParticipantError(r.error.message))),
    );
  });
}

/** The seed of the patient split: fixed, so the same VN gives the same sub-clients every round. */
const SPLIT_SEED = 1;

/**
 * One round: split the training data into the VN patient-disjoint sub-clients the server asked
 * for, then train each from the global weights with its own optimizer state and upload its
 * update, one after the other (one model in memory, whatever VN is).
 */
async function* trainRound(
  socket: HospitalSocket,
  model: ModelEngine,
  config: FederationConfig,
  options: ParticipantOptions,
  trainingState: TrainingStateStore,
  start: RoundStart,
): AsyncGenerator<ClientEvent> {
  const { round } = start;
  const { epochs, batchSize, learningRate } = config.training;
  const optimizer = config.training.optimizer ?? 'amsgrad';
  yield { type: 'round-start', round, deadline: start.deadline };
  const global = decodeWeights(start.weights);
  const requested = Math.max(1, start.virtualClients ?? 1);
  const train = options.train;
  let parts: Dataset[];
  let note: string | null = null;
  if (requested > 1 && isPatientDataset(train)) {
    const split = splitIntoSubClients(train.patients, requested, SPLIT_SEED);
    parts = split.groups.map((g) => train.subset(g));
    note = split.note;
  } else {
    parts = [train];
    if (requested > 1) note = `this hospital's data has no patient index: it trains as 1 sub-client instead of ${requested}`;
  }
  const subClients = parts.length;
  yield { type: 'sub-clients', round, requested, slices: parts.map((p) => p.size), probe: start.probe ?? false, note };
  const states = await optimizerStates(trainingState, config.id, subClients);
  for (let subClient = 0; subClient < subClients; subClient++) {
    if (options.signal?.aborted) return;
    const data = parts[subClient]!;
    const sub = { subClient, subClients };
    model.setWeights(global);
    model.setOptimizerState(states[subClient] ?? null);
    let loss = Number.NaN;
    let steps = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const batches = model.trainEpoch(data, { epoch, batchSize, learningRate, optimizer, shuffleSeed: round * 1000 + epoch });
      const result = yield* localEpoch(socket, { round, epoch, epochs, ...sub }, batches, (r) => r.loss);
      loss = result.loss;
      steps += result.steps;
    }
    states[subClient] = model.getOptimizerState();
    await trainingState.save({
      federationId: config.id,
      states: states.map((st) => (st ? encodeOptimizerState(st) : null)),
    });
    const refused = yield* uploadUpdate(
      socket,
      { round, trainSamples: data.size, trainLoss: loss, backend: options.backend, subClient, subClients, steps },
      encodeWeights(model.getWeights()),
      config.chunkBytes,
    );
    if (refused) return yield refused;
    yield { type: 'uploaded', round, ...sub };
  }
  socket.emit('status', { phase: 'idle', round, progress: 1 });
}

/**
 * The optimizer state each of this round's sub-clients starts from: its own from last round
 * when the split is unchanged; when VN changed, the element-wise mean of the old sub-clients'
 * states for all of them (seed spec §1.5); nothing for a fresh start.
 */
async function optimizerStates(store: TrainingStateStore, federationId: string, subClients: number): Promise<(OptimizerState | null)[]> {
  const kept = await store.load();
  if (!kept || kept.federationId !== federationId) return new Array<OptimizerState | null>(subClients).fill(null);
  const old = kept.states.map((b) => (b ? decodeOptimizerState(b) : null));
  if (old.length === subClients) return old;
  const present = old.filter((st): st is OptimizerState => st !== null);
  const merged = present.length ? mergeOptimizerStates(present) : null;
  return new Array<OptimizerState | null>(subClients).fill(merged);
}

async function* evaluate(
  socket: HospitalSocket,
  model: ModelEngine,
  test: Dataset,
  round: number,
  config: FederationConfig,
): AsyncGenerator<ClientEvent> {
  if (test.size === 0) return;
  socket.emit('status', { phase: 'evaluating', round, progress: 0 });
  const m = await model.evaluate(test, config.training.batchSize);
  await request(socket, 'evaluation', { round, testSamples: m.samples, accuracy: m.accuracy, loss: m.loss });
  socket.emit('status', { phase: 'idle', round, progress: 1 });
  yield { type: 'evaluated', round, accuracy: m.accuracy, loss: m.loss, samples: m.samples };
}
