/**
 * The bench's import worker: the same work as the hospital app's import worker
 * (apps/hospital/src/workers/import.worker.ts): File objects from the folder
 * picker → importFiles() → IndexedDB, off the page's main thread.
 */
import {
  decodeDicom,
  deleteSliceStore,
  dicomToUnit,
  importFiles,
  newImportId,
  openSliceStore,
  quantize,
  resizeSquare,
  saltedHash,
  type ImportFile,
} from '../../src/index';
import type { BenchRequest, StageBreakdown, WorkerReply, WorkerResult } from './protocol';

const scope = self as unknown as { postMessage(message: WorkerReply): void; onmessage: ((e: MessageEvent<BenchRequest>) => void) | null };
const post = (m: WorkerReply): void => scope.postMessage(m);

async function run(request: BenchRequest): Promise<WorkerResult> {
  await deleteSliceStore(request.storeName);
  const store = await openSliceStore(request.storeName);
  // Exactly what the app's worker hands to importFiles().
  const files: ImportFile[] = request.files.map((f) => ({
    name: f.name,
    relativePath: f.webkitRelativePath || f.name,
    size: f.size,
    blob: f,
    bytes: async () => new Uint8Array(await f.arrayBuffer()),
  }));
  let lastProgress = -Infinity;
  const started = performance.now();
  const result = await importFiles(files, {
    store,
    targetSize: request.targetSize,
    ...(request.readAhead === undefined ? {} : { readAhead: request.readAhead }),
    // As the app's worker: at most 20 progress messages a second, and the last one.
    onProgress: (p) => {
      const now = performance.now();
      if (now - lastProgress < 50 && p.processed < p.total) return;
      lastProgress = now;
      post({ type: 'progress', processed: p.processed, total: p.total });
    },
  });
  const importMs = performance.now() - started;
  store.close();
  const out: WorkerResult = {
    imported: result.imported,
    failed: result.failed,
    skipped: result.skipped.length,
    summary: result.summary,
    importMs,
    readWaitMs: result.waits.readSeconds * 1000,
    storeWaitMs: result.waits.storeSeconds * 1000,
  };
  return out;
}

/** Each stage of the import timed on its own, file by file (DICOM files only). */
async function breakdown(request: BenchRequest): Promise<StageBreakdown> {
  const size = request.targetSize;
  const area = size * size;
  const scratchName = `${request.storeName}-breakdown`;
  await deleteSliceStore(scratchName);
  const scratch = await openSliceStore(scratchName);
  await scratch.claimSettings({ size, task: 'classification' });
  const salt = await scratch.salt();
  const importId = newImportId();
  const stages: StageBreakdown = { files: 0, readMs: 0, decodeMs: 0, windowMs: 0, resizeMs: 0, quantizeMs: 0, hashMs: 0, storeMs: 0 };
  const batchSize = 64;
  let pixels = new Uint16Array(batchSize * area);
  let hashes: string[] = [];
  const flush = async (): Promise<void> => {
    const n = hashes.length;
    if (n === 0) return;
    const t = performance.now();
    await scratch.putBatch(
      { importId, pixels: pixels.slice(0, n * area), labels: hashes.map(() => 'x'), patientHashes: hashes, studyHashes: hashes, instanceHashes: hashes, modalities: hashes.map(() => 'CT') },
      size,
    );
    stages.storeMs += performance.now() - t;
    pixels = new Uint16Array(batchSize * area);
    hashes = [];
  };
  for (const file of request.files) {
    if (!file.name.endsWith('.dcm')) continue;
    let t = performance.now();
    const bytes = new Uint8Array(await file.arrayBuffer());
    let now = performance.now();
    stages.readMs += now - t;
    t = now;
    const slice = await decodeDicom(bytes, file.name);
    now = performance.now();
    stages.decodeMs += now - t;
    t = now;
    const unit = dicomToUnit(slice, 'file');
    now = performance.now();
    stages.windowMs += now - t;
    t = now;
    const resized = resizeSquare(unit, size);
    now = performance.now();
    stages.resizeMs += now - t;
    t = now;
    quantize(resized, pixels, hashes.length * area);
    now = performance.now();
    stages.quantizeMs += now - t;
    t = now;
    hashes.push(await saltedHash(salt, 'instance', slice.identifiers.sopInstanceUid ?? file.name));
    stages.hashMs += performance.now() - t;
    stages.files++;
    if (hashes.length === batchSize) await flush();
  }
  await flush();
  scratch.close();
  await deleteSliceStore(scratchName);
  return stages;
}

scope.onmessage = (event: MessageEvent<BenchRequest>) => {
  const request = event.data;
  (async () => {
    post({ type: 'done', result: await run(request) });
    if (request.breakdown) post({ type: 'breakdown', breakdown: await breakdown(request) });
  })().catch((e: unknown) => post({ type: 'error', message: e instanceof Error ? `${e.name}: ${e.message}` : String(e) }));
};
post({ type: 'ready' });
