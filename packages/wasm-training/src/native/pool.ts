import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';

/**
 * Workers that run the package's wasm kernels on the backend's shared
 * memory, so that its convolutions, max-pool gradient and GEMM use the
 * threads `setKernelThreads` asks for (default: as many as
 * tfjs-backend-wasm's XNNPACK pool, `getThreadsCount()`): one
 * kernel call is cut into chunks that write disjoint memory (ranges of
 * images or of rows), and this thread and the workers take chunks from a
 * shared counter until none is left, so that a thread that the OS holds back
 * (a busy machine, XNNPACK's own pool spinning) takes fewer chunks instead
 * of stalling the others. This thread then waits for the chunks still
 * running (spinning: the main thread of a page may not block).
 *
 * Each worker instantiates the same module on the same memory and waits
 * (Atomics.wait) on one control block shared by all: a job generation, the
 * ticket counter (job id and next chunk) and the finished-chunk counter, the export, the arguments of the
 * first chunk and each argument's step per chunk. Workers start
 * asynchronously; until one is ready, calls run on this thread alone. Where
 * there is no Worker or no shared memory (Node, the backend's
 * single-threaded build) there is no pool.
 */
export interface ChunkedCall {
  name: string;
  /** Arguments of chunk 0. */
  args: readonly number[];
  /** What each argument grows by from one chunk to the next (0: same for all). */
  steps: readonly number[];
  /** Index of the argument holding a chunk's item count. */
  countArg: number;
  /** Items (images, rows) in all, and per chunk. */
  items: number;
  chunk: number;
}

const MAX_ARGS = 32;
// Int32 words of the control block.
const GENERATION = 0;
const NEXT = 1;
const DONE = 2;
const NAME = 3;
const ARGC = 4;
const CHUNKS = 5;
const COUNT_ARG = 6;
const ITEMS = 7;
const CHUNK = 8;
const FAILED = 9;
const READY = 10;
/** Chunks the workers have run since the pool started (for tests and benchmarks). */
const WORKER_CHUNKS = 11;
const WORDS = 16;

interface Pool {
  names: string[];
  workers: number;
  words: Int32Array;
  args: Float64Array;
  steps: Float64Array;
}

const pools = new WeakMap<WebAssembly.Memory, Pool | null>();
let testParts = 1;
/** Threads for the package's kernels (null: tfjs-backend-wasm's count). */
let kernelThreads: number | null = null;

/**
 * Threads the package's kernels use (this one and `threads` − 1 workers), apart from
 * tfjs-backend-wasm's XNNPACK pool; null: the same count as that pool. Takes effect for a
 * pool not started yet (call it before `startWasmTrainingThreads`).
 */
export function setKernelThreads(threads: number | null): void {
  kernelThreads = threads === null ? null : Math.max(1, Math.floor(threads));
}

/**
 * Tests: cut every call into chunks as for this many threads and run them in
 * turn on this thread; 1, the default, leaves it to the pool.
 */
export function setNativeSplitForTests(parts: number): void {
  testParts = Math.max(1, Math.floor(parts));
}

const workerSource = `
onmessage = (event) => {
  const { module, memory, control, names } = event.data;
  const w = new Int32Array(control, 0, ${WORDS});
  const args = new Float64Array(control, ${WORDS * 4}, ${MAX_ARGS});
  const steps = new Float64Array(control, ${WORDS * 4 + 8 * MAX_ARGS}, ${MAX_ARGS});
  let exports;
  try {
    exports = new WebAssembly.Instance(module, { env: { memory } }).exports;
  } catch (e) {
    return;
  }
  Atomics.add(w, ${READY}, 1);
  let seen = Atomics.load(w, ${GENERATION});
  const a = [];
  for (;;) {
    Atomics.wait(w, ${GENERATION}, seen);
    seen = Atomics.load(w, ${GENERATION});
    for (;;) {
      // A ticket: the job's id (11 bits) above the chunk number (20 bits).
      // The generation is odd while the caller writes a job, even once it
      // is published, with the id in its upper bits; a ticket of another
      // job than the published one, or a job replaced while its fields were
      // read, means the job is over.
      const t = Atomics.add(w, ${NEXT}, 1);
      const g = Atomics.load(w, ${GENERATION});
      if ((g & 1) !== 0 || ((g >>> 1) & 0x7ff) !== (t >>> 20)) {
        // A ticket of the job before one just published (whose counter the
        // caller resets right after publishing): look again at once rather
        // than sleep through the new job.
        if ((g & 1) === 0 && (((g >>> 1) - 1) & 0x7ff) === (t >>> 20)) seen = g - 2;
        break;
      }
      const c = t & 0xfffff;
      const chunks = Atomics.load(w, ${CHUNKS});
      const argc = w[${ARGC}], chunk = w[${CHUNK}], name = names[w[${NAME}]];
      a.length = argc;
      for (let j = 0; j < argc; j++) a[j] = args[j] + c * steps[j];
      a[w[${COUNT_ARG}]] = Math.min(chunk, w[${ITEMS}] - c * chunk);
      if (Atomics.load(w, ${GENERATION}) !== g || c >= chunks) break;
      try {
        exports[name](...a);
      } catch (e) {
        Atomics.store(w, ${FAILED}, 1);
      }
      Atomics.add(w, ${WORKER_CHUNKS}, 1);
      Atomics.add(w, ${DONE}, 1);
    }
  }
};
`;

function startPool(memory: WebAssembly.Memory, module: WebAssembly.Module, names: string[]): Pool | null {
  const workers = (kernelThreads ?? getThreadsCount()) - 1;
  if (workers < 1 || typeof Worker === 'undefined' || typeof Blob === 'undefined'
    || typeof SharedArrayBuffer === 'undefined' || !(memory.buffer instanceof SharedArrayBuffer)) {
    return null;
  }
  try {
    const control = new SharedArrayBuffer(WORDS * 4 + 16 * MAX_ARGS);
    const url = URL.createObjectURL(new Blob([workerSource], { type: 'text/javascript' }));
    for (let i = 0; i < workers; i++) new Worker(url).postMessage({ module, memory, control, names });
    return {
      names,
      workers,
      words: new Int32Array(control, 0, WORDS),
      args: new Float64Array(control, WORDS * 4, MAX_ARGS),
      steps: new Float64Array(control, WORDS * 4 + 8 * MAX_ARGS, MAX_ARGS),
    };
  } catch {
    return null;
  }
}

/** The part of a native-kernel call site that the pool needs. */
export interface PoolSite {
  memory: WebAssembly.Memory;
  module: WebAssembly.Module;
  exports: object;
}

/** The pool on this memory (started on first use), or null. */
function pool(site: PoolSite): Pool | null {
  let p = pools.get(site.memory);
  if (p === undefined) {
    const exports = site.exports as Record<string, unknown>;
    p = startPool(site.memory, site.module, Object.keys(exports).filter((k) => typeof exports[k] === 'function'));
    pools.set(site.memory, p);
  }
  return p;
}

/**
 * Starts the pool on this memory if it has not started, and resolves once
 * its workers are ready (or after `timeoutMs`, with those that are), with the
 * number of threads a call can then use. A worker starts only while the
 * thread that created it returns to its event loop, which a training loop
 * awaiting only resolved promises never does: call this once after the
 * backend is up, before training.
 */
export async function poolReady(site: PoolSite, timeoutMs: number): Promise<number> {
  const p = pool(site);
  if (p === null) return 1;
  const start = Date.now();
  while (Atomics.load(p.words, READY) < p.workers && Date.now() - start < timeoutMs) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return 1 + Atomics.load(p.words, READY);
}

/** Chunks run by the pool's workers (not this thread) so far; 0 without a pool. */
export function workerChunks(site: PoolSite): number {
  const p = pools.get(site.memory);
  return p === undefined || p === null ? 0 : Atomics.load(p.words, WORKER_CHUNKS);
}

/** How many threads a call can use: this one + the ready workers (or the test setting). */
export function parallelParts(site: PoolSite | null): number {
  if (testParts > 1) return testParts;
  const p = site === null ? null : pool(site);
  return p === null ? 1 : 1 + Atomics.load(p.words, READY);
}

/**
 * Items per chunk for `parts` threads: one chunk for one thread, else about
 * four per thread, a multiple of `align` (GEMM rows: its 4-row tile).
 */
export function chunkSize(items: number, parts: number, align = 1): number {
  if (parts <= 1) return Math.max(1, items);
  const per = testParts > 1 ? Math.ceil(items / parts) : Math.ceil(items / (4 * parts));
  return Math.max(align, Math.ceil(per / align) * align);
}

/** Number of chunks of a call. */
export function chunkCount(call: Pick<ChunkedCall, 'items' | 'chunk'>): number {
  return Math.max(1, Math.ceil(call.items / call.chunk));
}

function chunkArgs(call: ChunkedCall, c: number): number[] {
  const a = call.args.map((v, j) => v + c * (call.steps[j] ?? 0));
  a[call.countArg] = Math.min(call.chunk, call.items - c * call.chunk);
  return a;
}

/**
 * Runs a chunked call: this thread and the ready workers take chunks until
 * none is left; returns once all have finished. With no pool the chunks run
 * in turn here.
 */
export function runChunked(site: PoolSite, call: ChunkedCall): void {
  const exports = site.exports as Record<string, (...a: number[]) => void>;
  const fn = exports[call.name]!;
  const chunks = chunkCount(call);
  const p = testParts > 1 || chunks === 1 ? null : pool(site);
  const index = p === null ? -1 : p.names.indexOf(call.name);
  if (p === null || index < 0 || call.args.length > MAX_ARGS || Atomics.load(p.words, READY) === 0) {
    for (let c = 0; c < chunks; c++) fn(...chunkArgs(call, c));
    return;
  }
  const w = p.words;
  // Odd generation: the job's fields are being written.
  const writing = Atomics.add(w, GENERATION, 1) + 1;
  p.args.fill(0);
  p.steps.fill(0);
  p.args.set(call.args);
  p.steps.set(call.steps);
  w[NAME] = index;
  w[ARGC] = call.args.length;
  w[COUNT_ARG] = call.countArg;
  w[ITEMS] = call.items;
  w[CHUNK] = call.chunk;
  Atomics.store(w, CHUNKS, chunks);
  Atomics.store(w, FAILED, 0);
  Atomics.store(w, DONE, 0);
  // Published (even), then the job's first ticket.
  Atomics.store(w, GENERATION, writing + 1);
  const id = ((writing + 1) >>> 1) & 0x7ff;
  Atomics.store(w, NEXT, id << 20);
  Atomics.notify(w, GENERATION);
  let mine = 0;
  for (;;) {
    const c = (Atomics.add(w, NEXT, 1) & 0xfffff);
    if (c >= chunks) break;
    fn(...chunkArgs(call, c));
    mine++;
  }
  const start = performance.now();
  for (let spins = 0; Atomics.load(w, DONE) + mine < chunks; spins++) {
    if ((spins & 0xffff) === 0xffff && performance.now() - start > 30_000) {
      throw new Error('wasm-training: a kernel worker did not finish within 30 s');
    }
  }
  if (Atomics.load(w, FAILED) !== 0) throw new Error('wasm-training: a kernel worker failed');
}
