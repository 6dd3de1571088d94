import * as tf from '@tensorflow/tfjs';
import { setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { registerWasmTrainingKernels, setWasmTrainingThreads, startWasmTrainingThreads, wasmTrainingNativeKernels } from '../../src';
import { benchInputs, benchModels } from '../models';
import { productTrainer } from '../product-step';
import { ceilingModule, ceilingVariants, ceilingWorkerSource, flopsPerIteration } from '../simd-ceiling';
import type { CeilingKernel } from '../simd-ceiling';
import type { BenchRequest, BenchResult, CeilingRequest, CeilingResult } from './protocol';

async function init(request: BenchRequest): Promise<number | null> {
  if (request.backend === 'wasm') {
    // The .wasm files are served next to this bundle.
    setWasmPaths(new URL('./', location.href).href);
    if (request.threads !== undefined) {
      // As the hospital app: the threads go to the package's training kernels,
      // and XNNPACK's own pool keeps one (its threads spin after each of its
      // ops and would take the core the kernel workers need: README).
      setThreadsCount(1);
      setWasmTrainingThreads(request.threads);
    }
    registerWasmTrainingKernels();
  }
  if (!(await tf.setBackend(request.backend))) throw new Error(`backend ${request.backend} failed to initialise`);
  await tf.ready();
  return request.backend === 'wasm' ? startWasmTrainingThreads() : null;
}

/**
 * Time per kernel in a step: over a few profiled steps, each kernel's best
 * per-step total (single figures are noise on a loaded machine), slowest
 * first, after "(step)", the wall time of the fastest profiled step.
 */
async function profileSteps(step: () => Promise<void>): Promise<Array<{ name: string; ms: number; calls: number }>> {
  const best = new Map<string, { ms: number; calls: number }>();
  let fastest = Infinity;
  for (let i = 0; i < 5; i++) {
    const start = performance.now();
    const info = await tf.profile(step);
    fastest = Math.min(fastest, performance.now() - start);
    const sums = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const e = sums.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls++;
      sums.set(k.name, e);
    }
    for (const [name, e] of sums) {
      const prev = best.get(name);
      if (prev === undefined || e.ms < prev.ms) best.set(name, e);
    }
  }
  const kernels = [...best].map(([name, e]) => ({ name, ...e })).sort((a, b) => b.ms - a.ms);
  return [{ name: '(step)', ms: fastest, calls: 1 }, ...kernels];
}

window.runBench = async (request: BenchRequest): Promise<BenchResult> => {
  const threads = await init(request);
  const spec = benchModels().find((m) => m.name === request.model);
  if (spec === undefined) throw new Error(`unknown model ${request.model}`);
  const model = spec.build();
  const x = benchInputs(spec, request.batch);
  const y = spec.targets(request.batch);
  const losses: number[] = [];
  let step: () => Promise<void>;
  let trainer: ReturnType<typeof productTrainer> | undefined;
  if (request.mode === 'fit') {
    model.compile({ optimizer: tf.train.adam(1e-3), loss: (t: tf.Tensor, p: tf.Tensor) => spec.loss(t, p) });
    step = async () => {
      const history = await model.fit(x, y, { batchSize: request.batch, epochs: 1, shuffle: false, verbose: 0 });
      losses.push(Number(history.history['loss']?.[0]));
    };
  } else {
    trainer = productTrainer(model, spec, x, y);
    const { step: productStep } = trainer;
    step = async () => {
      const cost = productStep();
      losses.push((await cost.data())[0]!);
      cost.dispose();
    };
  }
  // Half the time budget for warm-up at most, half for measuring, at least
  // one timed step: slow backends (seconds per step) stay bounded.
  const half = (request.maxSeconds * 1000) / 2;
  const warmupStart = performance.now();
  for (let i = 0; i < request.warmupSteps && performance.now() - warmupStart < half; i++) await step();
  const start = performance.now();
  let steps = 0;
  while (steps < request.maxSteps && (steps < 1 || performance.now() - start < half)) {
    await step();
    steps++;
  }
  const seconds = (performance.now() - start) / 1000;
  const kernels = request.profile === true ? await profileSteps(step) : undefined;
  tf.dispose([x, y]);
  trainer?.dispose();
  model.dispose();
  return {
    optimizer: trainer === undefined ? 'tf.train.adam (model.fit)' : trainer.fused ? 'fused Adam' : 'Adam op by op',
    samplesPerS: (steps * request.batch) / seconds,
    steps,
    seconds,
    firstLoss: losses[0] ?? NaN,
    lastLoss: losses.at(-1) ?? NaN,
    threads,
    crossOriginIsolated: self.crossOriginIsolated,
    nativeKernels: request.backend === 'wasm' ? wasmTrainingNativeKernels() ?? 'off' : null,
    kernels,
  };
};
/**
 * GFLOP/s of the ceiling kernel (../simd-ceiling.ts) in `threads` workers at once: every
 * worker calls it for `ms`, the figure is all their FLOPs over the longest worker's time, best
 * of `repeats`. Run in a fresh page, like every bench run.
 */
async function ceilingGflops(kernel: CeilingKernel, threads: number, ms: number, repeats: number): Promise<number> {
  const iterations = 1 << 16;
  const url = URL.createObjectURL(new Blob([ceilingWorkerSource], { type: 'text/javascript' }));
  const workers = Array.from({ length: threads }, () => new Worker(url));
  const ask = <T>(w: Worker, message: object) => new Promise<T>((resolve, reject) => {
    w.onmessage = (e: MessageEvent<T>) => resolve(e.data);
    w.onerror = (e) => reject(new Error(e.message));
    w.postMessage(message);
  });
  try {
    const bytes = ceilingModule(kernel);
    await Promise.all(workers.map((w) => ask(w, { bytes, iterations, warmupMs: 300 })));
    let best = 0;
    for (let r = 0; r < repeats; r++) {
      const runs = await Promise.all(workers.map((w) => ask<{ calls: number; ms: number }>(w, { iterations, ms })));
      const flops = runs.reduce((sum, run) => sum + run.calls * iterations * flopsPerIteration(kernel), 0);
      best = Math.max(best, flops / Math.max(...runs.map((run) => run.ms)) / 1e6);
    }
    return best;
  } finally {
    for (const w of workers) w.terminate();
    URL.revokeObjectURL(url);
  }
}

window.simdCeiling = async (request: CeilingRequest): Promise<CeilingResult> => {
  const relaxed = WebAssembly.validate(ceilingModule(ceilingVariants(true)[0]!));
  // The variant with the most throughput on one thread, then that one on every thread.
  let best: { kernel: CeilingKernel; gflops: number } | undefined;
  for (const kernel of ceilingVariants(relaxed)) {
    const gflops = await ceilingGflops(kernel, 1, request.ms / 2, 2);
    if (best === undefined || gflops > best.gflops) best = { kernel, gflops };
  }
  const gflops = request.threads === 1 ? best!.gflops : await ceilingGflops(best!.kernel, request.threads, request.ms, 3);
  return {
    gflops,
    threads: request.threads,
    instruction: relaxed ? 'f32x4.relaxed_madd' : 'f32x4.mul + f32x4.add',
    accumulators: best!.kernel.accumulators,
  };
};

document.title = 'ready';
