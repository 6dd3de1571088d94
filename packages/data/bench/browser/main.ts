/**
 * Bench page: a folder input like the hospital app's; picking a folder starts
 * the import worker, handing it the File objects as the app does. The Node
 * runner (../browser-bench.ts) reads window.__bench.
 */
import type { BenchRequest, PageResult, WorkerReply } from './protocol';

const input = document.querySelector<HTMLInputElement>('#folder')!;
const status = document.querySelector<HTMLElement>('#status')!;
window.__bench = { state: 'idle' };

input.addEventListener('change', () => {
  const started = performance.now();
  const files = Array.from(input.files ?? []);
  const { keepWorker = false, ...options } = window.__benchOptions ?? { targetSize: 64, storeName: 'fedward-bench', breakdown: false };
  let workerStartMs = -1;
  let result: PageResult | undefined;
  window.__bench = { state: 'running', processed: 0 };
  const worker = new Worker(new URL('./import.worker.ts', import.meta.url), { type: 'module' });
  const finish = (r: PageResult): void => {
    if (keepWorker) window.__benchRelease = () => worker.terminate();
    else worker.terminate();
    window.__bench = { state: 'done', result: r };
    status.textContent = `done: ${r.imported} slices`;
  };
  worker.onmessage = (event: MessageEvent<WorkerReply>) => {
    const msg = event.data;
    if (msg.type === 'ready') {
      workerStartMs = performance.now() - started;
    } else if (msg.type === 'progress') {
      window.__bench = { state: 'running', processed: msg.processed };
      status.textContent = `${msg.processed} / ${msg.total}`;
    } else if (msg.type === 'done') {
      // The timed part ends here; the optional stage breakdown runs after it.
      result = { ...msg.result, wallMs: performance.now() - started, workerStartMs, postMs, files: files.length };
      if (options.breakdown) window.__bench = { state: 'imported', result };
      else finish(result);
    } else if (msg.type === 'breakdown') {
      if (result) finish({ ...result, breakdown: msg.breakdown });
    } else {
      worker.terminate();
      window.__bench = { state: 'error', error: msg.message };
      status.textContent = `error: ${msg.message}`;
    }
  };
  worker.onerror = (e) => {
    window.__bench = { state: 'error', error: e.message || 'worker failed to load' };
  };
  const posting = performance.now();
  worker.postMessage({ type: 'start', files, ...options } satisfies BenchRequest);
  // The first time a picked File is sent (or its size read), Chromium fetches its metadata from the browser process.
  const postMs = performance.now() - posting;
});
status.textContent = 'ready';
