import { io } from 'socket.io-client';
import {
  decodeWeights,
  encodeWeights,
  type Ack,
  type BackendName,
  type FederationConfig,
  type Hello,
  type ProtocolError,
  type RoundResult,
  type RoundStart,
  type SecAggRoster,
  type SecAggSharesIn,
  type SecAggUnmask,
  type Welcome,
} from '@fedward/protocol';
import {
  decodeOptimizerState,
  encodeOptimizerState,
  type Dataset,
  type DetEngine,
  type ModelEngine,
  type OptimizerState,
  type RecordDataset,
} from '@fedward/models';
import { evaluateDet, startDet, trainDetRound } from './det-round';
import { AsyncQueue } from './async-queue';
import type { ClientEvent } from './events';
import { splitFingerprint, splitIntoSubClients } from './sub-clients';
import { localEpoch } from './local-epoch';
import { recordSent, request, uploadUpdate, type HospitalSocket, type SentMessage } from './socket';
import { SecAggClientRound, type SecAggTestHooks, type StageOutcome } from './secagg-client';
import { addSteps, dpSgdRecords, localEpsilon, stepsPerEpoch, type DpSgdRuns } from './dp-sgd-local';
import { isPatientDataset, memoryTrainingStateStore, type SubClientStates, type TrainingStateStore } from './training-state';

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
  /**
   * A secret the server never sees and that stays fixed while the local data does (the hospital
   * app passes its slice store's salt). With the federation id it keys the hash that puts each
   * patient in a sub-client (`subClientKey`). Default '' (Node clients and tests): the split is
   * then still one patient → one sub-client, only not secret.
   */
  subClientSecret?: string;
  /**
   * Whether the training data's patient hashes come from patient ids (the slice store's summary
   * says: all slices, some, none). Sent in hello so the admin sees it; omitted when unknown.
   */
  patientIds?: 'all' | 'some' | 'none';
  /** The study to join (its id); needed when the token's hospital takes part in several. */
  study?: string;
  /** The digest of the study plan the hospital accepted; the server refuses a hello with another. */
  planDigest?: string;
  /** Called for every message sent to the server (the hospital's receipts). */
  onSent?: (m: SentMessage) => void;
  /** How long hello may wait for its answer before reconnecting (default 30 s). */
  helloTimeoutMs?: number;
  /** Tests only: drop out of one secure aggregation stage, or see the plain input (SecAggTestHooks). */
  secaggTest?: SecAggTestHooks;
  signal?: AbortSignal;
}

/**
 * The key of the patient → sub-client hash for a federation: the hospital's secret and the
 * federation id, so the split stays fixed for the whole federation (and across reloads) and
 * differs between federations.
 */
export function subClientKey(secret: string, federationId: string): string {
  return `fedward-sub-clients\u0000${federationId}\u0000${secret}`;
}


type Inbox =
  | { kind: 'connect' }
  /** `final`: the server refused the handshake for a reason retrying cannot change (token, study). */
  | { kind: 'connect-error'; message: string; final: boolean }
  | { kind: 'disconnect'; reason: string }
  | { kind: 'round-start'; msg: RoundStart }
  | { kind: 'round-result'; msg: RoundResult }
  | { kind: 'secagg-roster'; msg: SecAggRoster }
  | { kind: 'secagg-shares-in'; msg: SecAggSharesIn }
  | { kind: 'secagg-unmask'; msg: SecAggUnmask }
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
    auth: { token: options.token, ...(options.study !== undefined && { study: options.study }) },
    transports: ['websocket'],
    reconnectionDelay: 250,
    reconnectionDelayMax: 2000,
  });
  if (options.onSent) recordSent(socket, options.onSent);
  socket.on('connect', () => inbox.push({ kind: 'connect' }));
  socket.on('connect_error', (err) =>
    inbox.push({ kind: 'connect-error', message: err.message, final: (err as Error & { data?: { final?: unknown } }).data?.final === true }),
  );
  socket.on('disconnect', (reason) => inbox.push({ kind: 'disconnect', reason }));
  socket.on('round-start', (msg) => inbox.push({ kind: 'round-start', msg }));
  socket.on('round-result', (msg) => inbox.push({ kind: 'round-result', msg }));
  socket.on('secagg-roster', (msg) => inbox.push({ kind: 'secagg-roster', msg }));
  socket.on('secagg-shares-in', (msg) => inbox.push({ kind: 'secagg-shares-in', msg }));
  socket.on('secagg-unmask', (msg) => inbox.push({ kind: 'secagg-unmask', msg }));
  socket.on('federation-done', (msg) => inbox.push({ kind: 'done', round: msg.round, ...(msg.reason ? { reason: msg.reason } : {}) }));
  socket.on('protocol-error', (error) => inbox.push({ kind: 'protocol-error', error }));
  const onAbort = () => inbox.push({ kind: 'abort' });
  options.signal?.addEventListener('abort', onAbort);

  let model: ModelEngine | null = null;
  let det: DetEngine | null = null;
  let config: FederationConfig | null = null;
  let hospital = '';
  /** The round's secure aggregation, between its stages (null without it). */
  let secagg: SecAggClientRound | null = null;
  /** Runs one secure aggregation stage; 'leave' ends the participation (a dropout test). */
  const stage = async function* (run: (s: SecAggClientRound) => AsyncGenerator<ClientEvent, StageOutcome>): AsyncGenerator<ClientEvent, boolean> {
    if (!secagg) return false;
    return (yield* run(secagg)) === 'leave';
  };
  /** The server's last refusal of this connection (revoked token, replaced by a newer connection). */
  let refusal: ProtocolError | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;
  const trainingState = options.trainingState ?? memoryTrainingStateStore();
  try {
    for (;;) {
      const item = await inbox.next();
      switch (item.kind) {
        case 'abort':
          return;
        case 'connect-error': {
          // The server refuses unknown tokens (and studies this hospital is not in) during the handshake: retrying cannot help.
          if (item.final) throw new ParticipantError(item.message);
          yield { type: 'disconnected', reason: item.message };
          // A refused handshake (e.g. rate-limited) is not retried by Socket.io itself: try again
          // when the server says, or after a few seconds.
          if (!socket.active) {
            const seconds = Number(/try again in (\d+) s/.exec(item.message)?.[1] ?? 5);
            if (retry) clearTimeout(retry);
            retry = setTimeout(() => socket.connect(), Math.min(seconds, 3600) * 1000);
          }
          break;
        }
        case 'disconnect':
          // The server closed this connection on purpose (token revoked, or the same hospital
          // connected again elsewhere): reconnecting would only repeat it, so say why and stop.
          if (item.reason === 'io server disconnect' && refusal) throw new ParticipantError(refusal.message);
          yield { type: 'disconnected', reason: item.reason };
          // Socket.io does not reconnect after the server closed the connection (a graceful restart
          // does that): reconnect after a moment, as after any other drop.
          if (item.reason === 'io server disconnect') {
            if (retry) clearTimeout(retry);
            retry = setTimeout(() => socket.connect(), 1000);
          }
          break;
        case 'connect': {
          const answer = await hello(socket, options);
          if (answer.kind === 'lost') {
            // The connection dropped, or the server did not answer in time: say hello again on the
            // next connection instead of waiting forever for this one.
            yield { type: 'disconnected', reason: answer.reason };
            if (socket.connected) {
              socket.disconnect();
              socket.connect();
            }
            break;
          }
          const welcome = answer.welcome;
          refusal = null;
          config = welcome.config;
          hospital = welcome.hospital;
          const weights = decodeWeights(welcome.weights);
          yield { type: 'connected', hospital: welcome.hospital, config, backend: options.backend, privacy: welcome.privacy ?? null };
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
          secagg = null;
          if (det && config) yield* trainDetRound(socket, det, config, options, trainingState, item.msg);
          else if (model && config) {
            const s = item.msg.secagg;
            secagg = s
              ? new SecAggClientRound(
                  item.msg.round,
                  s,
                  hospital,
                  decodeWeights(item.msg.weights),
                  options.backend,
                  config.chunkBytes,
                  config.aggregation?.strategy === 'fednova',
                  item.msg.probe ?? false,
                  options.secaggTest ?? {},
                )
              : null;
            // DP-SGD's watchdog: a hospital whose next round would pass its own budget stops here.
            if ((yield* trainRound(socket, model, config, options, trainingState, item.msg, secagg)) === true) return;
            if (yield* stage((r) => r.advertise(socket))) return;
          }
          break;
        case 'secagg-roster':
          if (yield* stage((r) => r.share(socket, item.msg))) return;
          break;
        case 'secagg-shares-in':
          if (yield* stage((r) => r.mask(socket, item.msg))) return;
          break;
        case 'secagg-unmask':
          if (yield* stage((r) => r.reveal(socket, item.msg))) return;
          break;
        case 'round-result':
          if (!config) break;
          secagg = null;
          yield { type: 'round-result', round: item.msg.round, participants: item.msg.participants, privacy: item.msg.privacy ?? null, ...(item.msg.secagg && { secagg: item.msg.secagg }) };
          if (det) {
            det.setDeputyWeights(decodeWeights(item.msg.weights));
            yield* evaluateDet(socket, det, options.test, item.msg.round, config);
          } else if (model) {
            model.setWeights(decodeWeights(item.msg.weights));
            yield* evaluate(socket, model, options.test, item.msg.round, config);
          }
          break;
        case 'protocol-error':
          if (item.error.code === 'unauthorized' || item.error.code === 'plan-changed') refusal = item.error;
          yield { type: 'rejected', error: item.error };
          break;
        case 'done':
          yield { type: 'federation-done', round: item.round, ...(item.reason ? { reason: item.reason } : {}) };
          return;
      }
    }
  } finally {
    if (retry) clearTimeout(retry);
    options.signal?.removeEventListener('abort', onAbort);
    socket.disconnect();
    model?.dispose();
    det?.dispose();
  }
}

/** How long a hello may wait for its answer before the client reconnects and says it again. */
const HELLO_TIMEOUT_MS = 30_000;

/**
 * Says hello. A refusal is final (ParticipantError); a dropped connection or a missing answer is
 * 'lost', and the caller reconnects: the hello must never wait forever.
 */
function hello(socket: HospitalSocket, options: ParticipantOptions): Promise<{ kind: 'welcome'; welcome: Welcome } | { kind: 'lost'; reason: string }> {
  return new Promise((resolve, reject) => {
    const msg: Hello = {
      backend: options.backend,
      trainSamples: options.train.size,
      testSamples: options.test.size,
      ...(options.patientIds && { patientIds: options.patientIds }),
      ...(options.planDigest && { planDigest: options.planDigest }),
    };
    const onDisconnect = () => resolve({ kind: 'lost', reason: 'the connection dropped before the server answered hello' });
    socket.once('disconnect', onDisconnect);
    (socket.timeout(options.helloTimeoutMs ?? HELLO_TIMEOUT_MS) as unknown as HospitalSocket).emit('hello', msg, ((err: Error | null, r: Ack<Welcome>) => {
      socket.off('disconnect', onDisconnect);
      if (err) resolve({ kind: 'lost', reason: `no answer to hello (${err.message}); reconnecting` });
      else if (r.ok) resolve({ kind: 'welcome', welcome: r });
      else reject(new ParticipantError(r.error.message));
    }) as never);
  });
}

/**
 * What an empty sub-client announces with its update (the unchanged global model, a zero
 * change): no samples, and one step, because FedNova divides each change by its step count
 * and refuses 0 (a zero change divided by 1 is still zero). Its loss counts for nothing.
 */
const EMPTY_SUB_CLIENT = { trainSamples: 0, steps: 1, trainLoss: 0 } as const;
const EMPTY_SUB_CLIENT_TRAINED = { samples: 0, steps: 1, loss: 0 } as const;

/**
 * One round: split the training data into the VN patient-disjoint sub-clients the server asked
 * for (each patient by a keyed hash, `splitIntoSubClients`), then train each from the global
 * weights with its own optimizer state and upload its update, one after the other (one model in
 * memory, whatever VN is). Every one of the VN sub-clients uploads, in order 0..VN−1, even an
 * empty one (the unchanged global weights): the number of updates a hospital sends must not
 * depend on its data.
 */
async function* trainRound(
  socket: HospitalSocket,
  model: ModelEngine,
  config: FederationConfig,
  options: ParticipantOptions,
  trainingState: TrainingStateStore,
  start: RoundStart,
  secagg: SecAggClientRound | null,
): AsyncGenerator<ClientEvent, boolean | void> {
  const { round } = start;
  const { epochs, batchSize, learningRate } = config.training;
  const optimizer = config.training.optimizer ?? 'amsgrad';
  yield { type: 'round-start', round, deadline: start.deadline };
  const global = decodeWeights(start.weights);
  const requested = Math.max(1, start.virtualClients ?? 1);
  const train = options.train;
  const key = subClientKey(options.subClientSecret ?? '', config.id);
  let parts: Dataset[];
  let note: string | null = null;
  if (requested === 1) parts = [train];
  else if (isPatientDataset(train)) {
    const split = splitIntoSubClients(train.patients, requested, key);
    parts = split.groups.map((g) => (g.length > 0 ? train.subset(g) : NO_SLICES));
    note = split.note;
  } else {
    // Without a patient index the data cannot be cut along patients: it all stays in sub-client 1
    // (so a patient still touches one update), and the others send the unchanged model.
    parts = [train, ...new Array<Dataset>(requested - 1).fill(NO_SLICES)];
    note = `this hospital's data has no patient index: sub-client 1 trains on all of it, the other ${requested - 1} send the unchanged model`;
  }
  const subClients = parts.length;
  yield { type: 'sub-clients', round, requested, slices: parts.map((p) => p.size), probe: start.probe ?? false, note };
  const splitId = splitFingerprint(key);
  const kept = await trainingState.load();
  const states = optimizerStates(kept, config.id, subClients, splitId);
  // DP-SGD: the local accountant's record of every step taken in this federation so far.
  let dpRuns: DpSgdRuns = kept?.federationId === config.id ? (kept.dpSgd ?? []) : [];
  for (let subClient = 0; subClient < subClients; subClient++) {
    if (options.signal?.aborted) return;
    const data = parts[subClient]!;
    const sub = { subClient, subClients };
    if (data.size === 0 && secagg) {
      // Secure aggregation: the hospital's own sum counts the empty sub-client as a zero change.
      secagg.add(global, EMPTY_SUB_CLIENT_TRAINED);
      continue;
    }
    if (data.size === 0) {
      // An empty sub-client: no training, its optimizer state is left as it was.
      const refused = yield* uploadUpdate(
        socket,
        { round, ...EMPTY_SUB_CLIENT, backend: options.backend, subClient, subClients },
        encodeWeights(global),
        config.chunkBytes,
      );
      if (refused) return yield refused;
      yield { type: 'uploaded', round, ...sub };
      continue;
    }
    // DP-SGD: records (patients where known), q, and the watchdog before anything is trained.
    const dp = config.dpSgd;
    let plan: { records: RecordDataset; unit: 'patient' | 'slice'; q: number; batchRecords: number; perEpoch: number } | null = null;
    if (dp) {
      const { records, unit, count } = dpSgdRecords(data);
      const batchRecords = Math.min(batchSize, count);
      const perEpoch = stepsPerEpoch(count, batchRecords);
      plan = { records, unit, q: batchRecords / count, batchRecords, perEpoch };
      const spent = localEpsilon(dp, dpRuns);
      const projected = localEpsilon(dp, addSteps(dpRuns, plan.q, epochs * perEpoch));
      if (projected > dp.targetEpsilon) {
        yield { type: 'dp-sgd-stopped', round, spent, projected, target: dp.targetEpsilon, unit, sampling: dp.sampling };
        return true;
      }
    }
    model.setWeights(global);
    model.setOptimizerState(states[subClient] ?? null);
    let loss = Number.NaN;
    let steps = 0;
    for (let epoch = 1; epoch <= epochs; epoch++) {
      const batches = plan
        ? model.trainEpoch(plan.records, { epoch, batchSize, learningRate, optimizer, dpSgd: { noiseMultiplier: dp!.noiseMultiplier, clip: dp!.clip, sampling: dp!.sampling, reduction: dp!.reduction ?? 'sum', batchRecords: plan.batchRecords } })
        : model.trainEpoch(data, { epoch, batchSize, learningRate, optimizer, shuffleSeed: round * 1000 + epoch });
      const result = yield* localEpoch(socket, { round, epoch, epochs, ...sub }, batches, (r) => r.loss);
      loss = result.loss;
      steps += result.steps;
      if (plan) {
        const epsilon = localEpsilon(dp!, addSteps(dpRuns, plan.q, epoch * plan.perEpoch));
        yield { type: 'dp-sgd', round, epoch, epsilon, target: dp!.targetEpsilon, unit: plan.unit, sampling: dp!.sampling };
      }
    }
    if (plan) dpRuns = addSteps(dpRuns, plan.q, epochs * plan.perEpoch);
    states[subClient] = model.getOptimizerState();
    // Saved before the update leaves: the steps it cost are on record even if the page goes away.
    await trainingState.save({
      federationId: config.id,
      split: splitId,
      states: states.map((st) => (st ? encodeOptimizerState(st) : null)),
      ...(dp && { dpSgd: dpRuns }),
    });
    if (secagg) {
      // Secure aggregation: the update stays here; it enters the hospital's masked sum.
      secagg.add(model.getWeights(), { samples: data.size, loss, steps });
      continue;
    }
    const refused = yield* uploadUpdate(
      socket,
      { round, trainSamples: data.size, trainLoss: loss, backend: options.backend, subClient, subClients, steps, ...(dp && { dpSgdEpsilon: localEpsilon(dp, dpRuns) }) },
      encodeWeights(model.getWeights()),
      config.chunkBytes,
    );
    if (refused) return yield refused;
    yield { type: 'uploaded', round, ...sub };
  }
  socket.emit('status', { phase: 'idle', round, progress: 1 });
}

/** A sub-client without patients this round. */
const NO_SLICES: Dataset = { size: 0, async *batches() {} };

/**
 * The optimizer state each of this round's sub-clients starts from: its own from last round
 * while VN and the split key stay the same (the keyed split puts every patient in the same
 * sub-client again); a fresh state for every sub-client when VN changed, when the key did (new
 * local data), and at a fresh start. The seed (spec §1.5) averages the old states into every new
 * sub-client instead; that would carry one patient's influence (through the moments it shaped)
 * into every new sub-client, and the per-patient guarantee needs one patient to influence one
 * sub-client only. (`mergeOptimizerStates` in @fedward/models is no longer used here.)
 */
function optimizerStates(kept: SubClientStates | null, federationId: string, subClients: number, split: string): (OptimizerState | null)[] {
  const fresh = !kept || kept.federationId !== federationId || kept.split !== split || kept.states.length !== subClients;
  if (fresh) return new Array<OptimizerState | null>(subClients).fill(null);
  return kept.states.map((b) => (b ? decodeOptimizerState(b) : null));
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
