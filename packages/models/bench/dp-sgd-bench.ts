/**
 * DP-SGD against plain training on the same engine, model, batch and backend: samples per second
 * of the plain mini-batch step, of the DP-SGD step (Poisson sampling at q = B/records, per-record
 * clip, integer-grid discrete Gaussian noise; the fast path), and of the per-record reference loop.
 *
 *   npm run bench:dp-sgd [-- --models small-cnn,vgg-slim-gn,densenet-gn,unet-gn --backends wasm,cpu --batch 32 --size 32 --steps 8 --no-reference --json]
 *
 * wasm runs with @fedward/wasm-training's kernels, single-threaded (Node). Opacus (PyTorch's
 * DP-SGD) is looked up in the `python3` on PATH: where it cannot be imported (this project's CI
 * and dev machine: it does not install there), `opacus_samples_per_s` is null. The last line with
 * --json is {"models":{"<model>":{"backend","dp_sgd_samples_per_s","plain_samples_per_s","opacus_samples_per_s",...}}}.
 */
import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { MemoryDataset, createModel, seededRandom, type ModelEngine, type RecordDataset } from '../src';

const { values: a } = parseArgs({
  options: {
    models: { type: 'string' },
    backends: { type: 'string' },
    batch: { type: 'string' },
    size: { type: 'string' },
    steps: { type: 'string' },
    reference: { type: 'boolean', default: true },
    json: { type: 'boolean', default: false },
  },
  allowNegative: true,
});

/** Models DP-SGD accepts: small-cnn, and the GroupNorm variants of the larger families. */
const MODELS: Record<string, Omit<ModelSpec, 'inputSize' | 'channels' | 'seed'>> = {
  'small-cnn': { kind: 'small-cnn', numClasses: 2 },
  'vgg-slim-gn': { kind: 'vgg-slim', numClasses: 2, norm: 'group' },
  'densenet-gn': { kind: 'densenet', numClasses: 2, norm: 'group' },
  'unet-gn': { kind: 'unet', numClasses: 2, norm: 'group' },
};
const models = (a.models ?? 'small-cnn').split(',');
const backends = (a.backends ?? 'wasm,cpu').split(',');
const batch = Number(a.batch ?? '32');
const size = Number(a.size ?? '32');
const steps = Number(a.steps ?? '8');
for (const m of models) if (!(m in MODELS)) throw new Error(`unknown model "${m}" (one of ${Object.keys(MODELS).join(', ')})`);
if (![batch, size, steps].every((n) => Number.isInteger(n) && n >= 1)) throw new Error('--batch, --size and --steps take positive integers');

const require = createRequire(import.meta.url);
async function useBackend(name: string): Promise<void> {
  if (name === 'wasm') {
    const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
    const { registerWasmTrainingKernels } = await import('@fedward/wasm-training');
    setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
    registerWasmTrainingKernels();
  }
  if (!(await tf.setBackend(name))) throw new Error(`${name} did not start`);
  await tf.ready();
}

/** Records of one slice each (the slice-level relation; a patient of k slices costs about k slices). */
function data(records: number, masks: boolean): RecordDataset {
  const rand = seededRandom(3);
  const samples = Array.from({ length: records }, (_, i) => ({
    x: Float32Array.from({ length: size * size }, () => rand()),
    label: i % 2,
    ...(masks && { mask: Float32Array.from({ length: size * size }, () => (rand() < 0.3 ? 1 : 0)) }),
  }));
  const dataset = new MemoryDataset(samples);
  return Object.assign(dataset, {
    async recordBatches() {
      return samples.map((s) => ({ x: s.x, y: Int32Array.of(s.label), size: 1, ...(s.mask && { mask: s.mask }) }));
    },
  });
}

/** Samples per second over `steps` steps after one warm-up step. */
async function rate(model: ModelEngine, records: RecordDataset, dp: 'plain' | 'fast' | 'reference'): Promise<number> {
  const epoch = model.trainEpoch(records, {
    epoch: 1,
    batchSize: batch,
    learningRate: 1e-3,
    ...(dp !== 'plain' && { dpSgd: { noiseMultiplier: 1, clip: 1, sampling: 'poisson' as const, batchRecords: batch, path: dp } }),
  });
  await epoch.next();
  const start = performance.now();
  let n = 0;
  while (n < steps && !(await epoch.next()).done) n += 1;
  const seconds = (performance.now() - start) / 1000;
  // Poisson batches vary in size: B = q·records is what a step costs on average.
  return (n * batch) / seconds;
}

function opacusAvailable(): boolean {
  try {
    execFileSync('python3', ['-c', 'import opacus, torch'], { stdio: 'ignore', timeout: 60_000 });
    return true;
  } catch {
    return false;
  }
}

interface Row {
  backend: string;
  dp_sgd_samples_per_s: number;
  plain_samples_per_s: number;
  reference_samples_per_s: number | null;
  dp_sgd_cost: number;
  opacus_samples_per_s: number | null;
  params: number;
  batch: number;
  input: string;
}
const out: Record<string, Row> = {};
const opacus = opacusAvailable();
if (!a.json) console.log(`DP-SGD vs plain, batch ${batch}, ${size}×${size}×1, ${steps} steps after a warm-up (Node, single thread)`);
for (const backend of backends) {
  await useBackend(backend);
  for (const name of models) {
    const spec = { ...MODELS[name]!, inputSize: size, channels: 1, seed: 1 } as ModelSpec;
    const model = createModel(spec);
    const records = data(batch * (steps + 2), spec.kind === 'unet');
    const plain = await rate(model, records, 'plain');
    const fast = await rate(model, records, 'fast');
    const reference = a.reference ? await rate(model, records, 'reference') : null;
    const params = model.getWeights().reduce((n, w) => n + w.values.length, 0);
    model.dispose();
    const row: Row = {
      backend,
      dp_sgd_samples_per_s: round(fast),
      plain_samples_per_s: round(plain),
      reference_samples_per_s: reference === null ? null : round(reference),
      dp_sgd_cost: round(plain / fast),
      // Opacus has no wasm/TF.js backend: it is compared on PyTorch CPU where it installs.
      opacus_samples_per_s: null,
      params,
      batch,
      input: `${size}x${size}x1`,
    };
    out[models.length * backends.length > models.length ? `${name}@${backend}` : name] = row;
    if (!a.json) {
      console.log(
        `${backend.padEnd(5)} ${name.padEnd(12)} plain ${row.plain_samples_per_s} samples/s · DP-SGD ${row.dp_sgd_samples_per_s} (${row.dp_sgd_cost}× the plain step)` +
          (reference === null ? '' : ` · per-record loop ${row.reference_samples_per_s}`),
      );
    }
  }
}
if (!a.json) console.log(opacus ? 'Opacus is importable here but not yet driven by this bench.' : 'Opacus: not importable here (opacus_samples_per_s null).');
else console.log(JSON.stringify({ models: out }));

function round(x: number): number {
  return Math.round(x * 100) / 100;
}
