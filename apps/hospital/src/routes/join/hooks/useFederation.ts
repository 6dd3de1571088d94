import { useCallback, useEffect, useRef, useState } from 'react';
import type { ClientEvent } from '@fedward/client';
import type { LadderStep } from '@fedward/models';
import type { BackendName } from '@fedward/protocol';
import type { DatasetSummary } from '@fedward/data';
import type { Enrolment } from '../../../types/federation';
import type { FederationReply, FederationRequest } from '../../../workers/federation.worker';

export type RunPhase = 'idle' | 'starting' | 'waiting' | 'training' | 'uploading' | 'evaluating' | 'done' | 'error';

export interface RoundRecord {
  round: number;
  accuracy: number;
  loss: number;
  samples: number;
  /** PRR-FL: the deputy's accuracy (the row's accuracy is the personalized model's). */
  deputyAccuracy?: number;
}

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
  history: RoundRecord[];
  messages: string[];
  error: string | null;
  /** What the backend ladder measured on this machine, one entry per backend tried. */
  ladder: LadderStep[];
  /** Threads of tfjs-backend-wasm's pool and of the training kernels, when wasm was chosen. */
  wasmThreads: { backend: number; kernels: number } | null;
}

const initial: FederationState = {
  phase: 'idle',
  backend: null,
  round: null,
  epoch: null,
  upload: null,
  subClients: null,
  det: null,
  history: [],
  messages: [],
  error: null,
  ladder: [],
  wasmThreads: null,
};


function withProgress(view: SubClientsView | null, index: number, value: number): SubClientsView | null {
  if (!view) return view;
  return { ...view, progress: view.progress.map((p, i) => (i === index ? value : p)) };
}

function reduce(s: FederationState, e: ClientEvent): FederationState {
  switch (e.type) {
    case 'connected':
      return { ...s, phase: 'waiting', backend: e.backend, messages: [...s.messages, `Connected as ${e.hospital}`] };
    case 'disconnected':
      return { ...s, messages: [...s.messages, `Connection lost (${e.reason}); reconnecting…`] };
    case 'round-start':
      return { ...s, phase: 'training', round: e.round, epoch: null, upload: null, subClients: null };
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
      return s;
    case 'upload':
      return { ...s, phase: 'uploading', upload: { sent: e.sentBytes, total: e.totalBytes } };
    case 'uploaded': {
      const sub = s.subClients && { ...s.subClients, uploaded: s.subClients.uploaded.map((u, i) => u || i === e.subClient) };
      return { ...s, phase: e.subClient + 1 === e.subClients ? 'waiting' : s.phase, subClients: withProgress(sub, e.subClient, 1) };
    }
    case 'round-result':
      return { ...s, phase: 'evaluating' };
    case 'det-stage':
      return { ...s, det: { epoch: e.epoch, stage: e.stage, personalF1: e.personalF1, deputyF1: e.deputyF1 } };
    case 'evaluated': {
      const record: RoundRecord = { round: e.round, accuracy: e.accuracy, loss: e.loss, samples: e.samples, ...(e.deputy && { deputyAccuracy: e.deputy.accuracy }) };
      const history = [...s.history.filter((h) => h.round !== e.round), record];
      history.sort((a, b) => a.round - b.round);
      return { ...s, phase: s.phase === 'done' ? 'done' : 'waiting', history };
    }
    case 'rejected':
      return { ...s, messages: [...s.messages, `Server refused ${e.error.event ?? 'a message'}: ${e.error.message}`] };
    case 'federation-done':
      return {
        ...s,
        phase: 'done',
        messages: [...s.messages, `Federation finished after round ${e.round}${e.reason ? ` (${e.reason})` : ''}`],
      };
  }
}

/**
 * Runs this hospital's participation in a worker (federation.worker.ts) and folds its events
 * into what the page shows. Leaving terminates the worker.
 */
export function useFederation() {
  const [state, setState] = useState<FederationState>(initial);
  const worker = useRef<Worker | null>(null);

  const stop = useCallback(() => {
    worker.current?.terminate();
    worker.current = null;
  }, []);

  useEffect(() => stop, [stop]);

  const join = useCallback(
    (enrolment: Enrolment, summary: DatasetSummary) => {
      stop();
      setState({ ...initial, phase: 'starting' });
      const w = new Worker(new URL('../../../workers/federation.worker.ts', import.meta.url), { type: 'module' });
      worker.current = w;
      const fail = (message: string) => {
        if (worker.current === w) stop();
        setState((s) => ({ ...s, phase: 'error', error: message }));
      };
      w.onmessage = (event: MessageEvent<FederationReply>) => {
        const msg = event.data;
        switch (msg.type) {
          case 'probe':
            return setState((s) => ({ ...s, ladder: [...s.ladder, msg.step] }));
          case 'ladder':
            return setState((s) => ({ ...s, ladder: msg.outcome.results, backend: msg.outcome.chosen, wasmThreads: msg.wasmThreads }));
          case 'event':
            return setState((s) => reduce(s, msg.event));
          case 'end':
            stop();
            return setState((s) => (s.phase === 'done' ? s : { ...s, phase: 'idle' }));
          case 'error':
            return fail(msg.message);
        }
      };
      w.onerror = (e) => {
        e.preventDefault();
        fail(`the training worker failed: ${e.message || 'could not start'}${e.filename ? ` (${e.filename.split('/').pop()}:${e.lineno})` : ''}`);
      };
      w.onmessageerror = () => fail('the training worker sent a message that could not be read');
      w.postMessage({
        type: 'start',
        token: enrolment.token,
        config: enrolment.config,
        summary,
        // `?backend=wasm` (or `?backend=wasm,cpu`) limits the worker's backend ladder to those backends.
        backends: new URLSearchParams(location.search).get('backend'),
      } satisfies FederationRequest);
    },
    [stop],
  );

  const leave = useCallback(() => {
    stop();
    setState((s) => (s.phase === 'done' || s.phase === 'error' ? s : { ...s, phase: 'idle', epoch: null, upload: null }));
  }, [stop]);

  return { ...state, join, leave };
}
