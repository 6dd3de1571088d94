import type { ClientEvent } from '@fedward/client';
import type { LadderStep } from '@fedward/models';
import type { BackendName, SecAggStage, SecAggView } from '@fedward/protocol';
import type { FederationEnd, RoundRecord, SentRound } from '../../../types/federation';
import { mergeRounds } from '../../../api/round-history';

/**
 * What the page shows of this hospital's participation, folded from the participant's events
 * (`reduce`). Kept apart from the hook so it can be tested without a worker or React.
 */
export type RunPhase = 'idle' | 'starting' | 'rejoining' | 'waiting' | 'training' | 'uploading' | 'evaluating' | 'done' | 'error';

/** PRR-FL: the Deputy-Enhanced Transfer stage of the current local epoch. */
export interface DetView {
  epoch: number;
  stage: 'recover' | 'exchange' | 'sublimate';
  personalF1: number;
  deputyF1: number;
}

/** This round's sub-clients (intermediaries): how many, their slices, and how far each got. */
export interface SubClientsView {
  requested: number;
  slices: number[];
  /** 0..1 per sub-client: training progress, 1 once its update is uploaded. */
  progress: number[];
  uploaded: boolean[];
  probe: boolean;
  note: string | null;
}

export interface FederationState {
  phase: RunPhase;
  backend: BackendName | null;
  round: number | null;
  epoch: { epoch: number; epochs: number; batch: number; batches: number; loss: number } | null;
  upload: { sent: number; total: number } | null;
  subClients: SubClientsView | null;
  det: DetView | null;
  /** Evaluations, by round (kept across reloads). */
  history: RoundRecord[];
  /** Updates sent, by round (kept across reloads). */
  sent: SentRound[];
  /** The federation's end, once the server said so (kept across reloads). */
  finished: FederationEnd | null;
  messages: string[];
  error: string | null;
  /** The server refused this hospital for good (token revoked, replaced by a newer connection): `error` says why. */
  refused: boolean;
  /** What the backend ladder measured on this machine, one entry per backend tried. */
  ladder: LadderStep[];
  /** Threads of tfjs-backend-wasm's pool and of the training kernels, when wasm was chosen. */
  wasmThreads: { backend: number; kernels: number } | null;
  /** Slices of the training split: what a round without sub-clients (PRR-FL) trains on. */
  trainSlices: number;
  /** This round's last epoch loss per sub-client: the loss its update reports. */
  roundLosses: Record<number, number>;
  /** Secure aggregation: the last stage this hospital finished, and the last round's outcome (null without it). */
  secagg: { round: number; stage: SecAggStage; detail: string; result: SecAggView | null } | null;
  /**
   * DP-SGD: this hospital's own ε per record so far, its budget, the round and local epoch it was
   * counted after (epoch null once the watchdog stopped training before `round`), and, when the
   * watchdog stopped, where that round would have taken ε.
   */
  dpSgd: {
    epsilon: number;
    target: number;
    unit: 'patient' | 'slice';
    round: number;
    epoch: number | null;
    epochs: number | null;
    stopped: boolean;
    projected: number | null;
    /** The sampler, which names the accountant (absent: Poisson); see DP_SGD_ACCOUNTANT_LABELS. */
    sampling?: 'poisson' | 'uniform';
  } | null;
}

export const initialFederationState: FederationState = {
  phase: 'idle',
  backend: null,
  round: null,
  epoch: null,
  upload: null,
  subClients: null,
  det: null,
  history: [],
  sent: [],
  finished: null,
  messages: [],
  error: null,
  refused: false,
  ladder: [],
  wasmThreads: null,
  trainSlices: 0,
  roundLosses: {},
  secagg: null,
  dpSgd: null,
};

/** The phases in which a participation is under way (the worker runs). */
export const isRunning = (phase: RunPhase): boolean => !['idle', 'done', 'error'].includes(phase);

function withProgress(view: SubClientsView | null, index: number, value: number): SubClientsView | null {
  if (!view) return view;
  return { ...view, progress: view.progress.map((p, i) => (i === index ? value : p)) };
}

const byRound = <T extends { round: number }>(list: readonly T[], entry: T): T[] => mergeRounds(list, [entry]);

/** Adds one sub-client's update to its round's entry. */
function addUpdate(s: FederationState, e: Extract<ClientEvent, { type: 'uploaded' }>): SentRound[] {
  const slices = s.subClients?.slices[e.subClient] ?? s.trainSlices;
  // An empty sub-client reports a loss of nothing: it does not count in the mean.
  const loss = slices > 0 ? s.roundLosses[e.subClient] : undefined;
  // Sub-client 0 starts the round's entry afresh: a round sent again after a reconnect replaces it.
  const before = e.subClient === 0 ? undefined : s.sent.find((r) => r.round === e.round);
  const earlier = before?.slices ?? 0;
  return byRound(s.sent, {
    round: e.round,
    updates: (before?.updates ?? 0) + 1,
    slices: earlier + slices,
    bytes: (before?.bytes ?? 0) + (s.upload?.total ?? 0),
    trainLoss: loss === undefined ? (before?.trainLoss ?? null) : ((before?.trainLoss ?? 0) * earlier + loss * slices) / (earlier + slices),
  });
}

/** Under secure aggregation one masked sum stands for all of the round's sub-clients. */
function addMaskedSum(s: FederationState, round: number): SentRound[] {
  const slices = s.subClients?.slices ?? [s.trainSlices];
  let total = 0;
  let weighted = 0;
  slices.forEach((n, i) => {
    const loss = s.roundLosses[i];
    if (n > 0 && loss !== undefined) {
      total += n;
      weighted += loss * n;
    }
  });
  return byRound(s.sent, { round, updates: slices.length, slices: slices.reduce((a, b) => a + b, 0), bytes: s.upload?.total ?? 0, trainLoss: total > 0 ? weighted / total : null });
}

export function reduce(s: FederationState, e: ClientEvent): FederationState {
  switch (e.type) {
    case 'connected':
      return { ...s, phase: 'waiting', backend: e.backend, messages: [...s.messages, `Connected as ${e.hospital}`] };
    case 'disconnected':
      return { ...s, messages: [...s.messages, `Connection lost (${e.reason}); reconnecting…`] };
    case 'round-start':
      return { ...s, phase: 'training', round: e.round, epoch: null, upload: null, subClients: null, roundLosses: {} };
    case 'sub-clients':
      return {
        ...s,
        subClients: {
          requested: e.requested,
          slices: e.slices,
          progress: e.slices.map(() => 0),
          uploaded: e.slices.map(() => false),
          probe: e.probe,
          note: e.note,
        },
        messages: e.note ? [...s.messages, e.note] : s.messages,
      };
    case 'epoch-start':
      return { ...s, phase: 'training', epoch: { epoch: e.epoch, epochs: e.epochs, batch: 0, batches: 1, loss: Number.NaN } };
    case 'batch':
      return {
        ...s,
        epoch: { epoch: e.epoch, epochs: e.epochs, batch: e.batch, batches: e.batches, loss: e.loss },
        subClients: withProgress(s.subClients, e.subClient, (e.epoch - 1 + e.batch / e.batches) / e.epochs),
      };
    case 'epoch-end':
      return { ...s, roundLosses: { ...s.roundLosses, [e.subClient]: e.loss } };
    case 'upload':
      return { ...s, phase: 'uploading', upload: { sent: e.sentBytes, total: e.totalBytes } };
    case 'uploaded': {
      const sub = s.subClients && { ...s.subClients, uploaded: s.subClients.uploaded.map((u, i) => u || i === e.subClient) };
      return {
        ...s,
        phase: e.subClient + 1 === e.subClients ? 'waiting' : s.phase,
        subClients: withProgress(sub, e.subClient, 1),
        sent: addUpdate(s, e),
      };
    }
    case 'round-result':
      return { ...s, phase: 'evaluating', ...(e.secagg && s.secagg && { secagg: { ...s.secagg, result: e.secagg } }) };
    case 'dp-sgd':
      return {
        ...s,
        dpSgd: { epsilon: e.epsilon, target: e.target, unit: e.unit, round: e.round, epoch: e.epoch, epochs: s.epoch?.epochs ?? null, stopped: false, projected: null, ...(e.sampling && { sampling: e.sampling }) },
      };
    case 'dp-sgd-stopped':
      return {
        ...s,
        phase: 'done',
        dpSgd: { epsilon: e.spent, target: e.target, unit: e.unit, round: e.round, epoch: null, epochs: null, stopped: true, projected: e.projected, ...(e.sampling && { sampling: e.sampling }) },
        finished: { round: e.round - 1, reason: `this hospital's own privacy budget: round ${e.round} would take ε per ${e.unit} to ${e.projected.toFixed(2)}, past ${e.target}` },
        messages: [...s.messages, `Local training stopped before round ${e.round}: it would take ε per ${e.unit} from ${e.spent.toFixed(2)} to ${e.projected.toFixed(2)}, past this hospital's budget of ${e.target}. Nothing more is sent.`],
      };
    case 'secagg':
      return {
        ...s,
        // Between stages the hospital waits for the others.
        phase: 'waiting',
        secagg: { round: e.round, stage: e.stage, detail: e.detail, result: s.secagg?.result ?? null },
        ...(e.stage === 'mask' && { sent: addMaskedSum(s, e.round) }),
      };
    case 'det-stage':
      return { ...s, det: { epoch: e.epoch, stage: e.stage, personalF1: e.personalF1, deputyF1: e.deputyF1 } };
    case 'evaluated': {
      const record: RoundRecord = { round: e.round, accuracy: e.accuracy, loss: e.loss, samples: e.samples, ...(e.deputy && { deputyAccuracy: e.deputy.accuracy }) };
      return { ...s, phase: s.phase === 'done' ? 'done' : 'waiting', history: byRound(s.history, record) };
    }
    case 'rejected':
      return { ...s, messages: [...s.messages, `Server refused ${e.error.event ?? 'a message'}: ${e.error.message}`] };
    case 'federation-done':
      return {
        ...s,
        phase: 'done',
        finished: { round: e.round, ...(e.reason ? { reason: e.reason } : {}) },
        messages: [...s.messages, `Federation finished after round ${e.round}${e.reason ? ` (${e.reason})` : ''}`],
      };
  }
}
