import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import { defaultTensorRole } from '@fedward/personalization';
import { MemoryDataset, activateBackend, createModel, seededRandom, type ModelEngine } from '../src';
import { buildDenseNet } from '../src/densenet';
import { examplesMixedBy } from '../src/dp-sgd/surgery';
import { weightName } from '../src/init';
import { GroupNorm, groupNormGroups, groupNormalize } from '../src/norm';
import { buildUNet } from '../src/unet';
import { buildVggSlim } from '../src/vgg-slim';

/**
 * The GroupNorm variants (ModelSpec.norm 'group') of vgg-slim, densenet and unet: per-example
 * statistics, so DP-SGD may clip each example's own gradient.
 */

beforeAll(async () => {
  await activateBackend(['cpu']);
});

const variants: { spec: ModelSpec; build: (s: ModelSpec) => tf.LayersModel }[] = [
  { spec: { kind: 'vgg-slim', inputSize: 16, channels: 1, numClasses: 2, seed: 3, norm: 'group' }, build: buildVggSlim },
  { spec: { kind: 'densenet', inputSize: 32, channels: 1, numClasses: 2, seed: 5, norm: 'group' }, build: (s) => buildDenseNet(s) },
  { spec: { kind: 'unet', inputSize: 16, channels: 1, numClasses: 2, seed: 5, width: 4, norm: 'group' }, build: buildUNet },
];

function randomBatch(n: number, size: number, seed: number): tf.Tensor4D {
  const rand = seededRandom(seed);
  return tf.tensor4d(Float32Array.from({ length: n * size * size }, () => rand() * 2 - 1), [n, size, size, 1]);
}

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]!);

describe('GroupNorm layer', () => {
  it('splits C into the largest divisor of C up to 8 groups', () => {
    expect([1, 4, 8, 13, 16, 24, 36, 60, 100].map((c) => groupNormGroups(c))).toEqual([1, 4, 8, 1, 8, 8, 6, 6, 5]);
  });

  it('normalises each example per group over (H, W, C/G) with ε = 1e-5, then · γ + β per channel; rank 2 as a LayerNorm', () => {
    const rand = seededRandom(4);
    const [n, h, w, c] = [2, 3, 4, 6];
    const values = Float32Array.from({ length: n * h * w * c }, () => rand() * 4 - 1);
    const x = tf.tensor4d(values, [n, h, w, c]);
    const layer = new GroupNorm({ name: 'gn', groups: 3 }); // 6 channels → 3 groups of 2
    layer.apply(x);
    expect(layer.weights.map((v) => weightName(layer.name, v))).toEqual(['gn/gamma', 'gn/beta']);
    const gamma = [1, 2, 3, 4, 5, 6].map((v) => v / 4);
    const beta = [0.1, -0.2, 0.3, -0.4, 0.5, -0.6];
    layer.setWeights([tf.tensor1d(gamma), tf.tensor1d(beta)]);
    const y = (layer.apply(x) as tf.Tensor).dataSync();
    const at = (e: number, i: number, j: number, k: number) => ((e * h + i) * w + j) * c + k;
    for (let e = 0; e < n; e++) {
      for (let g = 0; g < 3; g++) {
        const members: number[] = [];
        for (let i = 0; i < h; i++) for (let j = 0; j < w; j++) for (let k = 2 * g; k < 2 * g + 2; k++) members.push(values[at(e, i, j, k)]!);
        const mean = members.reduce((a, v) => a + v, 0) / members.length;
        const variance = members.reduce((a, v) => a + (v - mean) ** 2, 0) / members.length;
        const k = 2 * g + 1;
        const expected = ((values[at(e, 2, 1, k)]! - mean) / Math.sqrt(variance + 1e-5)) * gamma[k]! + beta[k]!;
        expect(y[at(e, 2, 1, k)]!).toBeCloseTo(expected, 5);
      }
    }
    // Rank 2: one group over the features of each example.
    const features = tf.tensor2d([[1, 2, 3, 6], [10, 10, 10, 14]]);
    const ln = new GroupNorm({ name: 'ln' });
    const z = (ln.apply(features) as tf.Tensor).arraySync() as number[][];
    for (const [row, input] of [[1, 2, 3, 6], [10, 10, 10, 14]].entries()) {
      const mean = input.reduce((a, v) => a + v, 0) / 4;
      const sd = Math.sqrt(input.reduce((a, v) => a + (v - mean) ** 2, 0) / 4 + 1e-5);
      input.forEach((v, i) => expect(z[row]![i]!).toBeCloseTo((v - mean) / sd, 5));
    }
    tf.dispose([x, features]);
  });

  it('its hand-written gradient equals autodiff of the plain formula', () => {
    const x = tf.randomNormal([3, 4, 5, 6], 0.5, 2, 'float32', 1);
    const w = tf.randomNormal([3, 4, 5, 6], 0, 1, 'float32', 2);
    const plain = (v: tf.Tensor) => {
      const r = tf.reshape(v, [3, -1, 3, 2]);
      const { mean, variance } = tf.moments(r, [1, 3], true);
      return tf.reshape(tf.div(tf.sub(r, mean), tf.sqrt(tf.add(variance, 1e-5))), v.shape);
    };
    const ours = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(groupNormalize(v, 3), w)))(x);
    const reference = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(plain(v), w)))(x);
    expect(maxAbs(groupNormalize(x, 3), plain(x))).toBeLessThan(1e-5);
    expect(maxAbs(ours, reference)).toBeLessThan(1e-4);
    tf.dispose([x, w, ours, reference]);
  });

  it('round-trips through its config (model.json)', () => {
    const layer = new GroupNorm({ name: 'gn', groups: 4, epsilon: 1e-3 });
    const config = layer.getConfig();
    expect(config).toMatchObject({ name: 'gn', groups: 4, epsilon: 1e-3 });
    const again = GroupNorm.fromConfig(GroupNorm, config) as GroupNorm;
    expect([again.groups, again.epsilon]).toEqual([4, 1e-3]);
    expect(GroupNorm.className).toBe('FedwardGroupNorm');
  });
});

describe('GroupNorm variants (norm: group)', () => {
  for (const { spec, build } of variants) {
    it(`${spec.kind}: example 0's output does not change when the other examples of its batch do, in training and in evaluation`, () => {
      const model = build(spec);
      const a = randomBatch(3, spec.inputSize, 1);
      const others = randomBatch(3, spec.inputSize, 2).mul(3).add(1);
      const b = tf.concat([a.slice([0, 0, 0, 0], [1, -1, -1, -1]), others.slice([1, 0, 0, 0], [2, -1, -1, -1])]);
      for (const training of [true, false]) {
        const outA = model.apply(a, { training }) as tf.Tensor;
        const outB = model.apply(b, { training }) as tf.Tensor;
        const alone = model.apply(a.slice([0, 0, 0, 0], [1, -1, -1, -1]), { training }) as tf.Tensor;
        const row = (t: tf.Tensor) => t.slice(0, 1);
        expect(maxAbs(row(outA), row(outB)), `training ${training}`).toBeLessThan(1e-5);
        expect(maxAbs(row(outA), alone), `training ${training}`).toBeLessThan(1e-5);
        // Not trivially equal: the other examples' outputs did change.
        expect(maxAbs(outA.slice(1, 2), outB.slice(1, 2))).toBeGreaterThan(1e-4);
        tf.dispose([outA, outB, alone]);
      }
      tf.dispose([a, others, b]);
      model.dispose();
    }, 60_000);

    it(`${spec.kind}: no layer mixes examples (the batch variant's do); layer names as the batch variant's, γ/β norm tensors by role`, () => {
      const group = build(spec);
      const batch = build({ ...spec, norm: 'batch' });
      expect(examplesMixedBy(group)).toEqual([]);
      const mixed = examplesMixedBy(batch);
      expect(mixed.length).toBeGreaterThan(0);
      expect(mixed.every((m) => m.className === (spec.kind === 'vgg-slim' ? 'BatchNormalization' : 'FedwardBatchStatNorm'))).toBe(true);
      expect(group.layers.map((l) => l.name)).toEqual(batch.layers.map((l) => l.name));
      const norms = group.layers.filter((l) => l instanceof GroupNorm);
      expect(norms.map((l) => l.name)).toEqual(mixed.map((m) => m.layer));
      for (const layer of norms) {
        const names = layer.weights.map((w) => weightName(layer.name, w));
        expect(names).toEqual([`${layer.name}/gamma`, `${layer.name}/beta`]);
        for (const w of layer.weights) expect(defaultTensorRole({ name: weightName(layer.name, w), shape: [...w.shape] as number[] })).toBe('norm');
        const [gamma, beta] = layer.getWeights();
        expect(Array.from(gamma!.dataSync()).every((v) => v === 1)).toBe(true);
        expect(Array.from(beta!.dataSync()).every((v) => v === 0)).toBe(true);
      }
      // Only the norms' tensors differ: the convolution and dense kernels keep their names and seeded values.
      const kernels = (m: tf.LayersModel) =>
        new Map(m.layers.flatMap((l) => l.weights.filter((w) => w.originalName.endsWith('kernel')).map((w) => [weightName(l.name, w), Array.from(w.read().dataSync())])));
      expect(kernels(group)).toEqual(kernels(batch));
      if (spec.kind === 'vgg-slim') expect(group.weights.some((w) => /moving/.test(w.originalName))).toBe(false);
      group.dispose();
      batch.dispose();
    });
  }

  it('each trains: the loss falls over a few steps on a toy task', async () => {
    for (const { spec } of variants) {
      const model = createModel(spec);
      const data = toyData(spec, 8, 3);
      const before = await model.evaluate(data, 4);
      const losses = await trainEpochs(model, data, 3, 3e-3);
      const after = await model.evaluate(data, 4);
      // The loss on the data, before and after; each epoch's mean over its two noisy steps falls below the first's.
      expect(after.loss, spec.kind).toBeLessThan(before.loss);
      expect(Math.min(...losses.slice(1)), spec.kind).toBeLessThan(losses[0]!);
      model.dispose();
    }
  }, 240_000);

  it('vgg-slim with GroupNorm trains with DP-SGD (its batch variant is refused)', async () => {
    const refused = createModel({ ...variants[0]!.spec, norm: 'batch' });
    const dpSgd = { noiseMultiplier: 0.5, clip: 1, sampling: 'uniform' as const, batchRecords: 3 };
    await expect(refused.trainEpoch(toyData(variants[0]!.spec, 6, 4), { epoch: 1, batchSize: 3, learningRate: 0.01, dpSgd }).next()).rejects.toThrow(/bn1_1/);
    refused.dispose();
    const spec = variants[0]!.spec;
    const model = createModel(spec);
    const before = model.getWeights();
    const run = model.trainEpoch(toyData(spec, 6, 4), {
      epoch: 1,
      batchSize: 3,
      learningRate: 0.01,
      dpSgd,
    });
    for (let r = await run.next(); !r.done; r = await run.next());
    const after = model.getWeights();
    expect(after.some((t, i) => t.values.some((v, k) => v !== before[i]!.values[k]))).toBe(true);
    model.dispose();
  }, 60_000);
});

/** Class 1 (or the segmentation mask): a bright 4×4 square on noise. */
function toyData(spec: ModelSpec, n: number, seed: number): MemoryDataset {
  const size = spec.inputSize;
  const rand = seededRandom(seed);
  const segmentation = spec.kind === 'unet';
  return new MemoryDataset(
    Array.from({ length: n }, (_, i) => {
      const label = segmentation ? 1 : i % 2;
      const x = Float32Array.from({ length: size * size }, () => rand() * 0.4);
      const mask = new Float32Array(size * size);
      if (label) {
        const r = 1 + Math.floor(rand() * (size - 6));
        const c = 1 + Math.floor(rand() * (size - 6));
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) x[(r + dy) * size + c + dx] = mask[(r + dy) * size + c + dx] = 1;
      }
      return segmentation ? { x, label, mask } : { x, label };
    }),
  );
}

async function trainEpochs(model: ModelEngine, data: MemoryDataset, epochs: number, learningRate: number): Promise<number[]> {
  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const gen = model.trainEpoch(data, { epoch, batchSize: 4, learningRate, shuffleSeed: epoch });
    for (let r = await gen.next(); ; r = await gen.next()) {
      if (r.done) {
        losses.push(r.value.loss);
        break;
      }
    }
  }
  return losses;
}
