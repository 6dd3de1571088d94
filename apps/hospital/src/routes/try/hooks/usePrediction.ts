import { useCallback, useEffect, useRef, useState } from 'react';
import type { LatestModel } from '../../../api/latest-model';
import type { Prediction } from '../../../api/prediction';
import type { PredictReply, PredictRequest } from '../../../workers/predict.worker';

/** Where the latest pick is; `subject` names the slice in the page's words. */
export type PredictionState =
  | { status: 'idle' }
  | { status: 'reading' | 'predicting'; subject: string }
  | { status: 'done'; subject: string; prediction: Prediction; pixels: Uint16Array; batch: number }
  | { status: 'error'; subject: string; message: string };

/**
 * Runs predictions in a worker (predict.worker.ts) so that decoding and TF.js never freeze the
 * page. Only the latest pick is shown: the answer to an earlier one that comes in later is dropped.
 */
export function usePrediction(model: LatestModel | null) {
  const [state, setState] = useState<PredictionState>({ status: 'idle' });
  const worker = useRef<Worker | null>(null);
  const latest = useRef(0);

  useEffect(
    () => () => {
      worker.current?.terminate();
      worker.current = null;
    },
    [],
  );

  const start = useCallback((): Worker => {
    const w = new Worker(new URL('../../../workers/predict.worker.ts', import.meta.url), { type: 'module' });
    w.onmessage = (event: MessageEvent<PredictReply>) => {
      const reply = event.data;
      if (reply.id !== latest.current) return;
      setState((s) => {
        if (s.status === 'idle') return s;
        const { subject } = s;
        switch (reply.type) {
          case 'stage':
            return { status: reply.stage, subject };
          case 'result':
            return { status: 'done', subject, prediction: reply.prediction, pixels: reply.pixels, batch: reply.batch };
          case 'error':
            return { status: 'error', subject, message: reply.message };
        }
      });
    };
    w.onerror = (e) => {
      e.preventDefault();
      w.terminate();
      if (worker.current === w) worker.current = null;
      setState((s) => ({ status: 'error', subject: s.status === 'idle' ? 'the slice' : s.subject, message: `The model could not run in this browser (its background task failed: ${e.message || 'it could not start'}). Reload the page and try again.` }));
    };
    return w;
  }, []);

  const predict = useCallback(
    (subject: string, slice: PredictRequest['slice']) => {
      if (!model) return;
      const id = ++latest.current;
      setState({ status: 'reading', subject });
      (worker.current ??= start()).postMessage({ id, model, slice } satisfies PredictRequest);
    },
    [model, start],
  );

  return { state, predict };
}
