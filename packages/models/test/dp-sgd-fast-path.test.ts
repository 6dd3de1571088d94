import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { PER_RECORD_CONV2D_FILTER_GRAD as WASM_KERNEL_NAME, registerWasmTrainingKernels } from '@fedward/wasm-training';
import type { ModelSpec } from '@fedward/protocol';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createModel, seededRandom, type Batch } from '../src';
import { LayersEngine } from '../src/engine';
import { PER_RECORD_CONV2D_FILTER_GRAD } from '../src/dp-sgd/per-record-gradients';

/*
 * DP-SGD's fast path (one batched pass, split by record) against the reference (one backward
 * pass per record): per-record gradients and norms agree within 1e-5 relative, on every backend
 * the tests can run (cpu, and wasm with @fedward/wasm-training's per-record kernel), for every
 * model DP-SGD accepts and for records of one slice and of several (patients).
 */
const require = createRequire(import.meta.url);
const TOLERANCE = 1e-5;

const small: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 7 };

/**
 * A model with one layer of each kind the fast path splits differently: conv2d and dense (from
 * activations and output gradients), layer normalisation and a transposed convolution (the
 * layer re-run per record).
 */
function mixedModel(spec: ModelSpec): tf.LayersModel {
  const init = (seed: number) => tf.initializers.glorotUniform({ seed });
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, spec.channels] });
  let x = tf.layers.conv2d({ name: 'c1', filters: 4, kernelSize: 3, strides: 2, padding: 'same', activation: 'relu', kernelInitializer: init(1) }).apply(input) as tf.SymbolicTensor;
  x = tf.layers.layerNormalization({ name: 'ln' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2dTranspose({ name: 'up', filters: 3, kernelSize: 2, strides: 2, kernelInitializer: init(2) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.conv2d({ name: 'c2', filters: 5, kernelSize: 3, padding: 'valid', useBias: false, kernelInitializer: init(3) }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.globalAveragePooling2d({ name: 'gap' }).apply(x) as tf.SymbolicTensor;
  x = tf.layers.dense({ name: 'd1', units: 6, activation: 'tanh', kernelInitializer: init(4) }).apply(x) as tf.SymbolicTensor;
  const out = tf.layers.dense({ name: 'd2', units: spec.numClasses, kernelInitializer: init(5) }).apply(x) as tf.SymbolicTensor;
  return tf.model({ inputs: input, outputs: out });
}

function records(spec: ModelSpec, perRecord: number[], seed: number): Batch[] {
  const rand = seededRandom(seed);
  const area = spec.inputSize * spec.inputSize * spec.channels;
  const pixels = spec.inputSize * spec.inputSize;
  return perRecord.map((n) => ({
    x: Float32Array.from({ length: n * area }, () => rand() * 2 - 1),
    y: Int32Array.from({ length: n }, () => Math.floor(rand() * spec.numClasses)),
    size: n,
    ...(masked(spec) && { mask: Float32Array.from({ length: n * pixels }, () => (rand() < 0.3 ? 1 : 0)) }),
  }));
}

/** max over records of ‖fast − reference‖ / ‖reference‖, and of the norms' relative gap. */
function gaps(engine: LayersEngine, recs: Batch[]): { gradient: number; norm: number } {
  const ref = engine.perRecordGradients(recs, 'reference');
  const fast = engine.perRecordGradients(recs, 'fast');
  expect(fast.length).toBe(ref.length);
  let gradient = 0;
  let norm = 0;
  ref.forEach((r, i) => {
    const f = fast[i]!;
    let diff = 0;
    r.gradient.forEach((g, t) => g.forEach((v, k) => (diff += (v - f.gradient[t]![k]!) ** 2)));
    expect(r.norm).toBeGreaterThan(0);
    gradient = Math.max(gradient, Math.sqrt(diff) / r.norm);
    norm = Math.max(norm, Math.abs(f.norm - r.norm) / r.norm);
  });
  return { gradient, norm };
}

const gn = (kind: 'densenet' | 'unet' | 'vgg-slim'): ModelSpec => ({ kind, inputSize: 16, channels: 1, numClasses: 2, seed: 5, norm: 'group' });
const masked = (spec: ModelSpec) => spec.kind === 'unet';

const cases: { name: string; build: () => LayersEngine; spec: ModelSpec }[] = [
  { name: 'small-cnn', spec: small, build: () => createModel(small) as LayersEngine },
  ...(['densenet', 'unet', 'vgg-slim'] as const).map((kind) => ({ name: `${kind} (GroupNorm)`, spec: gn(kind), build: () => createModel(gn(kind)) as LayersEngine })),
  { name: 'conv + layer norm + transposed conv + dense', spec: small, build: () => new LayersEngine(small, mixedModel(small)) },
];

for (const backend of ['cpu', 'wasm'] as const) {
  describe(`DP-SGD fast path = per-record loop on ${backend}`, () => {
    beforeAll(async () => {
      if (backend === 'wasm') {
        const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
        setWasmPaths(`${dist}${path.sep}`);
        registerWasmTrainingKernels();
      }
      if (!(await tf.setBackend(backend))) throw new Error(`${backend} failed to start`);
    });
    afterAll(async () => {
      await tf.setBackend('cpu');
    });

    for (const c of cases) {
      it(`${c.name}: one slice per record and patients of several slices`, () => {
        const engine = c.build();
        const before = tf.memory().numTensors;
        // A Poisson step may sample one patient alone: [3] is that case (one record, several slices).
        for (const [shape, seed] of [[[1, 1, 1, 1, 1, 1], 1], [[3, 1, 2, 4], 2], [[3], 6]] as const) {
          const g = gaps(engine, records(c.spec, [...shape], seed));
          expect(g.gradient).toBeLessThan(TOLERANCE);
          expect(g.norm).toBeLessThan(TOLERANCE);
        }
        // Nothing the pass made outlives it (captured activations, probes, δs).
        expect(tf.memory().numTensors).toBe(before);
        engine.dispose();
        // The larger models take seconds per case on cpu, more on a busy CI machine.
      }, 120_000);
    }

    if (backend === 'wasm') {
      it('runs the per-record filter gradient kernel of @fedward/wasm-training', async () => {
        expect(WASM_KERNEL_NAME).toBe(PER_RECORD_CONV2D_FILTER_GRAD);
        expect(tf.getKernel(PER_RECORD_CONV2D_FILTER_GRAD, 'wasm')).toBeDefined();
        const engine = createModel(small) as LayersEngine;
        const recs = records(small, [1, 1, 1, 2], 3);
        const info = await tf.profile(() => void engine.perRecordGradients(recs, 'fast'));
        expect(info.kernels.filter((k) => k.name === PER_RECORD_CONV2D_FILTER_GRAD).length).toBe(2);
        engine.dispose();
      });
    }
  });
}

describe('DP-SGD fast path refuses what it cannot split', () => {
  it('names the batch-normalised layer', () => {
    const engine = createModel({ kind: 'vgg-slim', inputSize: 16, channels: 1, numClasses: 2, seed: 1 }) as LayersEngine;
    expect(() => engine.perRecordGradients(records(small, [1, 1], 4), 'fast')).toThrow(/"bn1_1" \(BatchNormalization/);
    engine.dispose();
  });
});
