import { useCallback, useEffect, useRef, useState } from 'react';
import { requestPersistence, type DatasetSummary, type ImportProgress, type SampleSlice } from '@fedward/data';
import { localStore } from '../../../api/local-data';
import { emptyFolderReport, importReport, type ImportReport } from '../../../api/import-report';
import type { ImportReply, ImportRequest } from '../../../workers/import.worker';

/** Stored slices shown as thumbnails, a few of every label. */
export const THUMBNAILS = 8;

export interface LocalDataState {
  /** True until the store has been read once: "no data" is not known before. */
  loading: boolean;
  /** Null when nothing is stored (no slices, no import cut short). */
  summary: DatasetSummary | null;
  samples: SampleSlice[];
  progress: ImportProgress | null;
  /** What the last import did, with every file it did not store and why. */
  report: ImportReport | null;
  error: string | null;
  /** A folder picked while slices are stored: it waits for "replace" or "add". */
  pending: { files: File[]; targetSize: number } | null;
}

const initial: LocalDataState = { loading: true, summary: null, samples: [], progress: null, report: null, error: null, pending: null };

/** The slices stored in this browser, and importing a folder into them off the main thread. */
export function useLocalData() {
  const [state, setState] = useState<LocalDataState>(initial);
  const worker = useRef<Worker | null>(null);

  const refresh = useCallback(async () => {
    const store = await localStore();
    const summary = await store.summary();
    const samples = await store.sampleSlices(THUMBNAILS);
    const stored = summary.slices > 0 || summary.unfinishedImport !== null;
    setState((s) => ({ ...s, loading: false, summary: stored ? summary : null, samples }));
  }, []);

  useEffect(() => {
    refresh().catch((e: Error) => setState((s) => ({ ...s, loading: false, error: `could not open local storage: ${e.message}` })));
    return () => worker.current?.terminate();
  }, [refresh]);

  const start = useCallback(
    (files: File[], targetSize: number, replace: boolean) => {
      // Ask the browser not to evict the slices under storage pressure (it may say no; import goes on).
      void requestPersistence();
      worker.current?.terminate();
      const w = new Worker(new URL('../../../workers/import.worker.ts', import.meta.url), { type: 'module' });
      worker.current = w;
      const names = files.map((f) => f.name);
      setState((s) => ({ ...s, pending: null, progress: { total: files.length, processed: 0, imported: 0, failed: 0, skipped: 0 }, report: null, error: null }));
      w.onmessage = (event: MessageEvent<ImportReply>) => {
        const msg = event.data;
        if (msg.type === 'progress') return setState((s) => ({ ...s, progress: msg.progress }));
        w.terminate();
        worker.current = null;
        if (msg.type === 'error') setState((s) => ({ ...s, progress: null, error: msg.message }));
        else setState((s) => ({ ...s, progress: null, report: importReport(msg.result, names) }));
        refresh().catch((e: Error) => setState((s) => ({ ...s, error: `could not read local storage: ${e.message}` })));
      };
      w.postMessage({ type: 'start', files, targetSize, replace } satisfies ImportRequest);
    },
    [refresh],
  );

  /** A picked folder: imported at once into an empty store, else held until "replace" or "add". */
  const pick = useCallback(
    (files: File[], targetSize: number) => {
      if (files.length === 0) return setState((s) => ({ ...s, report: emptyFolderReport(), error: null }));
      if (state.summary && state.summary.slices > 0) return setState((s) => ({ ...s, pending: { files, targetSize }, report: null, error: null }));
      start(files, targetSize, false);
    },
    [state.summary, start],
  );

  const choose = useCallback(
    (choice: 'replace' | 'add' | 'cancel') => {
      const pending = state.pending;
      if (!pending) return;
      if (choice === 'cancel') return setState((s) => ({ ...s, pending: null }));
      start(pending.files, pending.targetSize, choice === 'replace');
    },
    [state.pending, start],
  );

  const cancel = useCallback(() => worker.current?.postMessage({ type: 'cancel' } satisfies ImportRequest), []);

  const remove = useCallback(() => {
    localStore()
      .then((store) => store.clear())
      .then(() => setState({ ...initial, loading: false }))
      .catch((e: Error) => setState((s) => ({ ...s, error: `could not remove local data: ${e.message}` })));
  }, []);

  return { ...state, pick, choose, cancel, remove };
}
