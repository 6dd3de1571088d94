import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import '@tensorflow/tfjs-backend-webgpu';
import { registerWasmTrainingKernels, startWasmTrainingThreads, wasmTrainingNativeKernels } from '../../src';
import { benchInputs, benchModels, trainStep } from '../models';
import type { BenchRequest, BenchResult } from './protocol';

async function init(request: BenchRequest): Promise<number | null> {
  if (request.backend === 'wasm') {
    // The .wasm files are served next to this bundle.
    setWasmPaths(new URL('./', location.href).href);
    if (request.threads !== undefined) {
      // tfjs-backend-wasm 4.22 caps its pool at hardwareConcurrency / 2 (it
      // assumes hyper-threading), i.e. one thread on a 2-core PC. Report
      // enough cores for the requested count before the module starts.
      if (navigator.hardwareConcurrency < 2 * request.threads) {
        Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * request.threads });
      }
      setThreadsCount(request.threads);
    }
    registerWasmTrainingKernels();
  }
  if (!(await tf.setBackend(request.backend))) throw new Error(`backend ${request.backend} failed to initialise`);
  await tf.ready();
  if (request.backend === 'wasm') await startWasmTrainingThreads();
  return request.backend === 'wasm' ? getThreadsCount() : null;
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
  if (request.mode === 'fit') {
    model.compile({ optimizer: tf.train.adam(1e-3), loss: (t: tf.Tensor, p: tf.Tensor) => spec.loss(t, p) });
    step = async () => {
      const history = await model.fit(x, y, { batchSize: request.batch, epochs: 1, shuffle: false, verbose: 0 });
      losses.push(Number(history.history['loss']?.[0]));
    };
  } else {
    const optimizer = tf.train.adam(1e-3);
    step = async () => {
      const cost = trainStep(model, spec, optimizer, x, y);
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
  model.dispose();
  return {
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
document.title = 'ready';
