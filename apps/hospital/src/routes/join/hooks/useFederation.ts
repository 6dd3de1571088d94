import { useCallback, useRef, useState } from 'react';
import { participate, type ClientEvent } from '@fedward/client';
import { createModel, activateBackend } from '@fedward/models';
import type { BackendName } from '@fedward/protocol';
import type { DatasetSummary } from '@fedward/data';
import { localStore, storeDataset } from '../../../api/local-data';
import type { Enrolment } from '../../../types/federation';

export type RunPhase = 'idle' | 'starting' | 'waiting' | 'training' | 'uploading' | 'evaluating' | 'done' | 'error';

export interface RoundRecord {
  round: number;
  accuracy: number;
  loss: number;
  samples: number;
}

export interface FederationState {
  phase: RunPhase;
  backend: BackendName | null;
  round: number | null;
  epoch: { epoch: number; epochs: number; batch: number; batches: number; loss: number } | null;
  upload: { sent: number; total: number } | null;
  history: RoundRecord[];
  messages: string[];
  error: string | null;
}

const initial: FederationState = {
  phase: 'idle',
  backend: null,
  round: null,
  epoch: null,
  upload: null,
  history: [],
  messages: [],
  error: null,
};

/** `?backend=cpu` (or webgl) forces a TF.js backend; otherwise the fastest that starts is used. */
function backendPreference(): BackendName[] {
  const forced = new URLSearchParams(location.search).get('backend');
  if (forced === 'cpu' || forced === 'webgl') return [forced];
  return ['webgl', 'cpu'];
}

function reduce(s: FederationState, e: ClientEvent): FederationState {
  switch (e.type) {
    case 'connected':
      return { ...s, phase: 'waiting', backend: e.backend, messages: [...s.messages, `Connected as ${e.hospital}`] };
    case 'disconnected':
      return { ...s, messages: [...s.messages, `Connection lost (${e.reason}); reconnecting…`] };
    case 'round-start':
      return { ...s, phase: 'training', round: e.round, epoch: null, upload: null };
    case 'epoch-start':
      return { ...s, epoch: { epoch: e.epoch, epochs: e.epochs, batch: 0, batches: 1, loss: Number.NaN } };
    case 'batch':
      return { ...s, epoch: { epoch: e.epoch, epochs: e.epochs, batch: e.batch, batches: e.batches, loss: e.loss } };
    case 'epoch-end':
      return s;
    case 'upload':
      return { ...s, phase: 'uploading', upload: { sent: e.sentBytes, total: e.totalBytes } };
    case 'uploaded':
      return { ...s, phase: 'waiting' };
    case 'round-result':
      return { ...s, phase: 'evaluating' };
    case 'evaluated': {
      const history = [...s.history.filter((h) => h.round !== e.round), { round: e.round, accuracy: e.accuracy, loss: e.loss, samples: e.samples }];
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

/** Runs this hospital's participation and folds its events into what the page shows. */
export function useFederation() {
  const [state, setState] = useState<FederationState>(initial);
  const abort = useRef<AbortController | null>(null);

  const join = useCallback(async (enrolment: Enrolment, summary: DatasetSummary) => {
    abort.current?.abort();
    const controller = new AbortController();
    abort.current = controller;
    setState({ ...initial, phase: 'starting' });
    try {
      const backend = await activateBackend(backendPreference());
      const store = await localStore();
      const normalization = enrolment.config.model.normalization ?? 'zscore';
      const events = participate({
        url: location.origin,
        token: enrolment.token,
        backend,
        train: storeDataset(store, summary, 'train', normalization),
        test: storeDataset(store, summary, 'test', normalization),
        createModel: (config) => createModel(config.model),
        signal: controller.signal,
      });
      for await (const event of events) setState((s) => reduce(s, event));
      setState((s) => (s.phase === 'done' ? s : { ...s, phase: 'idle' }));
    } catch (e) {
      setState((s) => ({ ...s, phase: 'error', error: (e as Error).message }));
    }
  }, []);

  const leave = useCallback(() => abort.current?.abort(), []);

  return { ...state, join, leave };
}
