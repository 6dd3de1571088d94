import * as tf from '@tensorflow/tfjs';
import type { BackendName, ModelSpec } from '@fedward/protocol';
import { MemoryDataset, seededRandom } from './memory-dataset';
import { createModel } from './create-model';

/**
 * The backend ladder: which TF.js backend should this machine train on?
 * Each candidate is activated, must reproduce a tiny conv + matmul forward/backward pass of the
 * cpu backend within a tolerance (a GPU driver or a kernel that computes garbage is worse than a
 * slow backend), then trains a few steps of the federation's model; the fastest that passes wins.
 * Platform-free: registering wasm/webgpu (imports, wasm paths) is the caller's job.
 */

export const LADDER_ORDER: readonly BackendName[] = ['webgpu', 'webgl', 'wasm', 'cpu'];

export interface LadderStep {
  backend: BackendName;
  ok: boolean;
  error?: string;
  /** Largest |Δ| of the self-check against cpu, relative to the largest |cpu value| of each output. */
  maxRelError?: number;
  msPerStep?: number;
}

export interface LadderOutcome {
  chosen: BackendName;
  results: LadderStep[];
}

export interface LadderOptions {
  /** Backends to try, in order; an override (e.g. `?backend=wasm`) narrows this. Default: LADDER_ORDER. */
  candidates?: readonly BackendName[];
  /** The model to benchmark (the federation's); default a 32×32 one-channel two-class small CNN. */
  spec?: ModelSpec;
  batchSize?: number;
  /** Timed training steps after one warm-up step. */
  steps?: number;
  /** Stop timing a backend after this long (at least one timed step always runs). */
  budgetMs?: number;
  /** Self-check tolerance: |actual − cpu| ≤ tolerance · max|cpu| per output. */
  tolerance?: number;
  /** How a candidate is activated; default tf.setBackend + tf.ready. Tests point a name at another backend. */
  activate?: (backend: BackendName) => Promise<boolean>;
  /** Called after each candidate is measured (to show progress). */
  onResult?: (step: LadderStep) => void;
}

const DEFAULT_SPEC: ModelSpec = { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1 };

/** Deterministic values in [-1, 1). */
function values(n: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

/**
 * conv2d (stride 1, same) → relu → maxPool 2×2 → flatten → matmul → softmax cross-entropy, and
 * the gradients of the loss for the input, the filter and the dense weights: the kernels a
 * training step of the small CNN uses, forward and backward.
 */
export function selfCheckOutputs(): Float32Array[] {
  const out = tf.tidy(() => {
    const x = tf.tensor4d(values(2 * 6 * 6 * 2, 1), [2, 6, 6, 2]);
    const filter = tf.tensor4d(values(3 * 3 * 2 * 3, 2), [3, 3, 2, 3]);
    const dense = tf.tensor2d(values(3 * 3 * 3 * 4, 3), [27, 4]);
    const labels = tf.oneHot(tf.tensor1d([1, 3], 'int32'), 4);
    const lossOf = (xi: tf.Tensor, fi: tf.Tensor, wi: tf.Tensor): tf.Scalar => {
      const h = tf.maxPool(tf.relu(tf.conv2d(xi as tf.Tensor4D, fi as tf.Tensor4D, 1, 'same')), 2, 2, 'valid');
      const logits = tf.matMul(tf.reshape(h, [2, 27]), wi as tf.Tensor2D);
      return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(lossOf)([x, filter, dense]);
    return [value, ...grads];
  });
  const arrays = out.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(out);
  return arrays;
}

/** Largest per-output |actual − expected| / max|expected| (Infinity for NaN or a shape mismatch). */
export function relativeError(actual: readonly Float32Array[], expected: readonly Float32Array[]): number {
  if (actual.length !== expected.length) return Number.POSITIVE_INFINITY;
  let worst = 0;
  expected.forEach((e, k) => {
    const a = actual[k]!;
    if (a.length !== e.length) {
      worst = Number.POSITIVE_INFINITY;
      return;
    }
    let scale = 1e-6;
    for (const v of e) scale = Math.max(scale, Math.abs(v));
    for (let i = 0; i < e.length; i++) {
      const d = Math.abs(a[i]! - e[i]!) / scale;
      worst = Number.isNaN(d) ? Number.POSITIVE_INFINITY : Math.max(worst, d);
    }
  });
  return worst;
}

/** Mean milliseconds per training step of `spec` on the active backend. */
export async function benchmarkTrainingStep(
  spec: ModelSpec,
  options: { batchSize?: number; steps?: number; budgetMs?: number } = {},
): Promise<number> {
  const batchSize = options.batchSize ?? 16;
  const steps = options.steps ?? 3;
  const budgetMs = options.budgetMs ?? 2000;
  const rand = seededRandom(spec.seed + 17);
  const length = spec.inputSize * spec.inputSize * spec.channels;
  const area = spec.inputSize * spec.inputSize;
  const data = new MemoryDataset(
    Array.from({ length: batchSize * (steps + 1) }, (_, i) => ({
      x: Float32Array.from({ length }, () => rand()),
      label: i % spec.numClasses,
      ...(spec.kind === 'unet' && { mask: Float32Array.from({ length: area }, () => (rand() < 0.3 ? 1 : 0)) }),
    })),
  );
  const model = createModel(spec);
  try {
    const epoch = model.trainEpoch(data, { epoch: 1, batchSize, learningRate: 1e-3 });
    await epoch.next(); // warm-up: shader compilation, wasm heap growth, first-use allocations
    const start = performance.now();
    let timed = 0;
    for (;;) {
      const r = await epoch.next();
      if (r.done) break;
      timed += 1;
      if (performance.now() - start > budgetMs) {
        await epoch.return(undefined as never);
        break;
      }
    }
    if (timed === 0) throw new Error('benchmark ran no timed step');
    return (performance.now() - start) / timed;
  } finally {
    model.dispose();
  }
}

async function defaultActivate(backend: BackendName): Promise<boolean> {
  if (!tf.findBackendFactory(backend)) return false;
  if (!(await tf.setBackend(backend))) return false;
  await tf.ready();
  return true;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * Probes the candidates, leaves the chosen backend active and reports every probe.
 * Throws when none passes.
 */
export async function runBackendLadder(options: LadderOptions = {}): Promise<LadderOutcome> {
  const candidates = options.candidates?.length ? options.candidates : LADDER_ORDER;
  const activate = options.activate ?? defaultActivate;
  const tolerance = options.tolerance ?? 1e-3;
  const spec = options.spec ?? DEFAULT_SPEC;

  if (!(await tf.setBackend('cpu'))) throw new Error('the cpu reference backend could not start');
  await tf.ready();
  const reference = selfCheckOutputs();

  const results: LadderStep[] = [];
  for (const backend of candidates) {
    const step: LadderStep = { backend, ok: false };
    try {
      if (!(await activate(backend))) throw new Error('not available');
      step.maxRelError = relativeError(selfCheckOutputs(), reference);
      if (!(step.maxRelError <= tolerance)) {
        throw new Error(`self-check differs from cpu (relative error ${step.maxRelError.toExponential(2)} > ${tolerance})`);
      }
      step.msPerStep = await benchmarkTrainingStep(spec, {
        ...(options.batchSize !== undefined && { batchSize: options.batchSize }),
        ...(options.steps !== undefined && { steps: options.steps }),
        ...(options.budgetMs !== undefined && { budgetMs: options.budgetMs }),
      });
      step.ok = true;
    } catch (e) {
      step.error = message(e);
    }
    results.push(step);
    options.onResult?.(step);
  }

  const passed = results.filter((r) => r.ok && r.msPerStep !== undefined);
  if (passed.length === 0) {
    throw new Error(`no TF.js backend passed the self-check (${results.map((r) => `${r.backend}: ${r.error}`).join('; ')})`);
  }
  const best = passed.reduce((a, b) => (b.msPerStep! < a.msPerStep! ? b : a));
  if (!(await activate(best.backend))) throw new Error(`${best.backend} could not be activated again`);
  return { chosen: best.backend, results };
}

/** `?backend=wasm` or `?backend=wasm,cpu` → the backends it names, in order (unknown names are dropped). */
export function parseBackendOverride(value: string | null | undefined): BackendName[] {
  if (!value) return [];
  return value
    .split(',')
    .map((s) => s.trim().toLowerCase())
    .filter((s): s is BackendName => (LADDER_ORDER as readonly string[]).includes(s));
}
