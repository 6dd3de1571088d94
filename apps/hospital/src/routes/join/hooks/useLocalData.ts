import { useCallback, useEffect, useRef, useState } from 'react';
import { requestPersistence, type DatasetSummary, type FileProblem, type ImportProgress } from '@fedward/data';
import { localStore } from '../../../api/local-data';
import type { ImportReply, ImportRequest } from '../../../workers/import.worker';

export interface LocalDataState {
  summary: DatasetSummary | null;
  progress: ImportProgress | null;
  problems: FileProblem[];
  error: string | null;
}

/** The slices stored in this browser, and importing a folder into them off the main thread. */
export function useLocalData() {
  const [state, setState] = useState<LocalDataState>({ summary: null, progress: null, problems: [], error: null });
  const worker = useRef<Worker | null>(null);

  const refresh = useCallback(async () => {
    const store = await localStore();
    const summary = await store.summary();
    setState((s) => ({ ...s, summary: summary.slices > 0 ? summary : null }));
  }, []);

  useEffect(() => {
    refresh().catch((e: Error) => setState((s) => ({ ...s, error: `could not open local storage: ${e.message}` })));
    return () => worker.current?.terminate();
  }, [refresh]);

  const importFolder = useCallback(
    (files: File[], targetSize: number) => {
      // Ask the browser not to evict the slices under storage pressure (it may say no; import goes on).
      void requestPersistence();
      worker.current?.terminate();
      const w = new Worker(new URL('../../../workers/import.worker.ts', import.meta.url), { type: 'module' });
      worker.current = w;
      setState((s) => ({ ...s, progress: { total: files.length, processed: 0, imported: 0, failed: 0, skipped: 0 }, problems: [], error: null }));
      w.onmessage = (event: MessageEvent<ImportReply>) => {
        const msg = event.data;
        if (msg.type === 'progress') setState((s) => ({ ...s, progress: msg.progress }));
        else {
          w.terminate();
          worker.current = null;
          if (msg.type === 'error') setState((s) => ({ ...s, progress: null, error: msg.message }));
          else {
            const { summary, failed } = msg.result;
            setState((s) => ({ ...s, progress: null, problems: failed, summary: summary.slices > 0 ? summary : null }));
          }
        }
      };
      w.postMessage({ type: 'start', files, targetSize } satisfies ImportRequest);
    },
    [],
  );

  const cancel = useCallback(() => worker.current?.postMessage({ type: 'cancel' } satisfies ImportRequest), []);

  const remove = useCallback(async () => {
    const store = await localStore();
    await store.clear();
    setState({ summary: null, progress: null, problems: [], error: null });
  }, []);

  return { ...state, importFolder, cancel, remove };
}
