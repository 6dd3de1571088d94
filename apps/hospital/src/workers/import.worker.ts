/// <reference lib="webworker" />
import { importFiles, openSliceStore, type ImportFile, type ImportProgress, type ImportResult } from '@fedward/data';

/**
 * Decoding and storing thousands of slices would freeze the page, so the import runs here.
 * The page sends the File objects from the folder picker; progress and the result come back.
 */
export type ImportRequest =
  /** `replace`: the folder's slices replace the stored ones once all are stored; else they are added. */
  | { type: 'start'; files: File[]; targetSize: number; replace: boolean }
  | { type: 'cancel' };
export type ImportReply =
  | { type: 'progress'; progress: ImportProgress }
  | { type: 'done'; result: ImportResult }
  | { type: 'error'; message: string };

const controller = new AbortController();
const post = (m: ImportReply) => (self as unknown as DedicatedWorkerGlobalScope).postMessage(m);

self.onmessage = async (event: MessageEvent<ImportRequest>) => {
  const msg = event.data;
  if (msg.type === 'cancel') return controller.abort();
  try {
    const store = await openSliceStore();
    let lastProgress = -Infinity;
    const files: ImportFile[] = msg.files.map((f) => ({
      name: f.name,
      relativePath: f.webkitRelativePath || f.name,
      size: f.size,
      // Lets importFiles read many small files in one request instead of one round trip each.
      blob: f,
      bytes: async () => new Uint8Array(await f.arrayBuffer()),
    }));
    const result = await importFiles(files, {
      store,
      targetSize: msg.targetSize,
      replace: msg.replace,
      signal: controller.signal,
      // At most 20 updates a second (and the last one): a page render per file would compete with the import.
      onProgress: (progress) => {
        const now = performance.now();
        if (now - lastProgress < 50 && progress.processed < progress.total) return;
        lastProgress = now;
        post({ type: 'progress', progress });
      },
    });
    store.close();
    post({ type: 'done', result });
  } catch (e) {
    post({ type: 'error', message: (e as Error).message });
  }
};
