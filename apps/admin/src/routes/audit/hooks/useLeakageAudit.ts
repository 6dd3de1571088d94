import { useCallback, useEffect, useRef, useState } from 'react';
import type { Defence } from '@fedward/leakage-audit';
import type { ModelSpec } from '@fedward/protocol';
import type { GlobalModel } from '../../../api/global-model';
import type { AuditReply, AuditRequest, AuditSettings, DefenceResult } from '../../../types/leakage-audit';

export interface AuditProgress {
  defence: Defence;
  restart: number;
  restarts: number;
  iteration: number;
  iterations: number;
  loss: number;
}

/** A run's state; `results` grow defence by defence, and stay after a cancel or an error. */
export type AuditRunState =
  | { status: 'idle' }
  | { status: 'loading-model' }
  | { status: 'running'; round: number; backend: string | null; progress: AuditProgress | null; results: DefenceResult[] }
  | { status: 'done' | 'cancelled'; round: number; results: DefenceResult[] }
  | { status: 'error'; message: string; results: DefenceResult[] };

/** What a run was asked to do: its downloads describe it. */
export interface AuditRun {
  spec: ModelSpec;
  settings: AuditSettings;
}

const resultsOf = (s: AuditRunState): DefenceResult[] => ('results' in s ? s.results : []);

/**
 * Runs the attack in a worker (leakage-audit.worker.ts), so the page stays responsive and TF.js
 * loads there only. The worker starts with the page and says which defences the package
 * implements; it serves one run after another. Cancel terminates it, which stops TF.js at once
 * whatever it is doing; the next run starts a new one.
 */
export function useLeakageAudit(loadModel: () => Promise<GlobalModel>) {
  const [state, setState] = useState<AuditRunState>({ status: 'idle' });
  const [run, setRun] = useState<AuditRun | null>(null);
  const [defences, setDefences] = useState<Defence[] | null>(null);
  const worker = useRef<Worker | null>(null);
  // Bumped by every start and cancel: a model that arrives for an older one starts nothing.
  const generation = useRef(0);

  const stopWorker = useCallback(() => {
    worker.current?.terminate();
    worker.current = null;
  }, []);

  const fail = useCallback(
    (message: string) => {
      stopWorker();
      setState((s) => ({ status: 'error', message, results: resultsOf(s) }));
    },
    [stopWorker],
  );

  const spawn = useCallback((): Worker => {
    const w = new Worker(new URL('../../../workers/leakage-audit.worker.ts', import.meta.url), { type: 'module' });
    w.onmessage = (event: MessageEvent<AuditReply>) => {
      const reply = event.data;
      if (reply.type === 'defences') return setDefences(reply.defences);
      // A terminated worker's last messages can still be queued here: they belong to no run.
      if (worker.current !== w) return;
      if (reply.type === 'error') return fail(`The attack stopped: ${reply.message}.`);
      setState((s) => {
        if (s.status !== 'running') return s;
        switch (reply.type) {
          case 'backend':
            return { ...s, backend: reply.backend };
          case 'progress':
            return { ...s, progress: reply };
          case 'result':
            return { ...s, results: [...s.results, reply.result] };
          case 'done':
            return { status: 'done', round: s.round, results: s.results };
        }
      });
    };
    w.onerror = (e) => {
      e.preventDefault();
      fail(`The attack could not run in this browser (its background task failed: ${e.message || 'it could not start'}).`);
    };
    return w;
  }, [fail]);

  useEffect(() => {
    worker.current = spawn();
    return stopWorker;
  }, [spawn, stopWorker]);

  const start = useCallback(
    async (spec: ModelSpec, settings: AuditSettings) => {
      const mine = ++generation.current;
      setRun({ spec, settings });
      setState({ status: 'loading-model' });
      let model: GlobalModel;
      try {
        model = await loadModel();
      } catch (e) {
        if (generation.current === mine) setState({ status: 'error', message: `The study’s global model could not be fetched: ${(e as Error).message}.`, results: [] });
        return;
      }
      if (generation.current !== mine) return;
      setState({ status: 'running', round: model.round, backend: null, progress: null, results: [] });
      const global = model.weights;
      (worker.current ??= spawn()).postMessage({ type: 'run', spec, global, settings } satisfies AuditRequest, global.map((t) => t.values.buffer));
    },
    [loadModel, spawn],
  );

  const cancel = useCallback(() => {
    generation.current++;
    stopWorker();
    setState((s) => {
      if (s.status === 'running') return { status: 'cancelled', round: s.round, results: s.results };
      return s.status === 'loading-model' ? { status: 'idle' } : s;
    });
  }, [stopWorker]);

  return { state, run, defences, start, cancel };
}
