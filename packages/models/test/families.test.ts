import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import { MemoryDataset, activateBackend, createModel, densenetSizes, seededRandom, type ModelEngine } from '../src';
import { buildDenseNet } from '../src/densenet';
import { BatchStatNorm, batchStatNormalize } from '../src/norm';
import { softDice } from '../src/segmentation';
import { buildUNet } from '../src/unet';

const densenet: ModelSpec = { kind: 'densenet', inputSize: 32, channels: 1, numClasses: 2, seed: 5 };
const unet: ModelSpec = { kind: 'unet', inputSize: 32, channels: 1, numClasses: 2, seed: 5 };

beforeAll(async () => {
  await activateBackend(['cpu']);
});

function randomBatch(n: number, size: number, seed: number): tf.Tensor4D {
  const rand = seededRandom(seed);
  return tf.tensor4d(Float32Array.from({ length: n * size * size }, () => rand()), [n, size, size, 1]);
}

/** Class 1: a bright 6×6 square somewhere; segmentation mask: that square. */
function squares(n: number, size: number, seed: number, withMask: boolean): MemoryDataset {
  const rand = seededRandom(seed);
  return new MemoryDataset(
    Array.from({ length: n }, (_, i) => {
      const label = withMask ? 1 : i % 2;
      const x = Float32Array.from({ length: size * size }, () => rand() * 0.4);
      const mask = new Float32Array(size * size);
      if (label) {
        const r = 2 + Math.floor(rand() * (size - 10));
        const c = 2 + Math.floor(rand() * (size - 10));
        for (let dy = 0; dy < 6; dy++) for (let dx = 0; dx < 6; dx++) {
          x[(r + dy) * size + c + dx] = 1;
          mask[(r + dy) * size + c + dx] = 1;
        }
      }
      return withMask ? { x, label, mask } : { x, label };
    }),
  );
}

async function trainEpochs(model: ModelEngine, data: MemoryDataset, epochs: number, learningRate: number): Promise<number[]> {
  const losses: number[] = [];
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const gen = model.trainEpoch(data, { epoch, batchSize: 4, learningRate, shuffleSeed: epoch });
    for (;;) {
      const r = await gen.next();
      if (r.done) {
        expect(r.value.steps).toBe(Math.ceil(data.size / 4));
        losses.push(r.value.loss);
        break;
      }
    }
  }
  return losses;
}

describe('batch-stat norm', () => {
  it('normalises with the batch’s own statistics (biased variance, ε = 1e-5) and has no weights', () => {
    const x = tf.add(tf.mul(randomBatch(3, 5, 1).tile([1, 1, 1, 2]), tf.tensor1d([2, -3])), tf.tensor1d([1, 4]));
    const values = x.arraySync() as number[][][][];
    const y = batchStatNormalize(x).arraySync() as number[][][][];
    for (const c of [0, 1]) {
      const all = values.flatMap((img) => img.flatMap((row) => row.map((px) => px[c]!)));
      const mean = all.reduce((a, b) => a + b, 0) / all.length;
      const variance = all.reduce((a, b) => a + (b - mean) ** 2, 0) / all.length;
      const expected = (all[7]! - mean) / Math.sqrt(variance + 1e-5);
      expect(y[0]![1]![2]![c]!).toBeCloseTo(expected, 5);
    }
    const layer = new BatchStatNorm({ name: 'n' });
    const out = layer.apply(x) as tf.Tensor;
    expect(layer.weights).toHaveLength(0);
    expect(out.shape).toEqual(x.shape);
    tf.dispose([x, out]);
  });

  it('its hand-written gradient equals autodiff of the plain formula', () => {
    const x = randomBatch(2, 6, 2).mul(3).add(0.5);
    const w = randomBatch(2, 6, 3);
    const plain = (t: tf.Tensor) => {
      const { mean, variance } = tf.moments(t, [0, 1, 2], true);
      return tf.div(tf.sub(t, mean), tf.sqrt(tf.add(variance, 1e-5)));
    };
    const loss = (norm: (t: tf.Tensor) => tf.Tensor) => (t: tf.Tensor) => tf.sum(tf.mul(tf.square(tf.add(norm(t), 0.3)), w)) as tf.Scalar;
    const a = tf.grad(loss(batchStatNormalize))(x);
    const b = tf.grad(loss(plain))(x);
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).toBeLessThan(1e-4);
    tf.dispose([x, w, a, b]);
  });
});

describe('densenet', () => {
  it('has the seed topology, stable seeded names, Kaiming init and no norm weights', () => {
    expect(densenetSizes(32)).toMatchObject({ stem: 16, pool: 8, padded: 12, block2: 6, block3: 3, block4: 1 });
    const model = buildDenseNet(densenet);
    const out = model.predict(randomBatch(4, 32, 1)) as tf.Tensor;
    expect(out.shape).toEqual([4, 2]);
    out.dispose();
    const engine = createModel(densenet);
    const names = engine.getWeights().map((w) => w.name);
    expect(names).toHaveLength(1 + 2 * (2 + 4 + 8 + 6) + 3 + 2);
    expect(names.slice(0, 4)).toEqual(['conv0/kernel', 'block1/layer1/conv1/kernel', 'block1/layer1/conv2/kernel', 'block1/layer2/conv1/kernel']);
    expect(names).toContain('transition1/conv/kernel');
    expect(names).toContain('block4/layer6/conv2/kernel');
    expect(names.slice(-2)).toEqual(['classifier/kernel', 'classifier/bias']);
    expect(names.some((n) => n.includes('norm'))).toBe(false);
    const weights = engine.getWeights();
    const shapes = Object.fromEntries(weights.map((w) => [w.name, w.shape]));
    expect(shapes['conv0/kernel']).toEqual([7, 7, 1, 24]);
    expect(shapes['block1/layer1/conv1/kernel']).toEqual([1, 1, 24, 48]);
    expect(shapes['block1/layer2/conv2/kernel']).toEqual([3, 3, 48, 12]);
    expect(shapes['transition1/conv/kernel']).toEqual([1, 1, 48, 24]);
    expect(shapes['classifier/kernel']).toEqual([138, 2]); // 24 +2·12 → 24 +4·12 → 36 +8·12 → 66 +6·12
    const conv0 = weights[0]!.values;
    const std = Math.sqrt(conv0.reduce((a, v) => a + v * v, 0) / conv0.length);
    expect(std).toBeGreaterThan(Math.sqrt(2 / 49) * 0.9);
    expect(std).toBeLessThan(Math.sqrt(2 / 49) * 1.1);
    expect(Array.from(weights.at(-1)!.values)).toEqual([0, 0]);
    const twin = createModel(densenet);
    expect(Array.from(twin.getWeights()[5]!.values)).toEqual(Array.from(weights[5]!.values));
    twin.dispose();
    const other = createModel({ ...densenet, seed: 6 });
    expect(Array.from(other.getWeights()[5]!.values)).not.toEqual(Array.from(weights[5]!.values));
    engine.dispose();
    other.dispose();
    model.dispose();
  });

  it('keeps no running statistics: eval uses the batch’s statistics, so a sample’s output depends on its batch', () => {
    const model = buildDenseNet(densenet, [1, 1]);
    const batchA = randomBatch(4, 32, 10);
    const batchB = tf.concat([batchA.slice([0], [1]), randomBatch(3, 32, 11)]);
    const train = model.apply(batchA, { training: true }) as tf.Tensor;
    const evalA = model.apply(batchA, { training: false }) as tf.Tensor;
    const evalB = model.apply(batchB, { training: false }) as tf.Tensor;
    expect(Array.from(evalA.dataSync())).toEqual(Array.from(train.dataSync()));
    const rowA = evalA.slice([0], [1]).dataSync();
    const rowB = evalB.slice([0], [1]).dataSync();
    expect(Math.abs(rowA[0]! - rowB[0]!)).toBeGreaterThan(1e-4);
    tf.dispose([batchA, batchB, train, evalA, evalB]);
    model.dispose();
  });

  it('learns a toy task: the loss falls over a few AMSGrad steps', async () => {
    const model = createModel(densenet);
    const data = squares(8, 32, 3, false);
    const before = await model.evaluate(data, 4);
    const losses = await trainEpochs(model, data, 2, 3e-3);
    const after = await model.evaluate(data, 4);
    expect(after.loss).toBeLessThan(before.loss);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    model.dispose();
  }, 120_000);
});

describe('unet', () => {
  it('has the seed topology and stable seeded names', () => {
    const model = buildUNet(unet);
    const out = model.predict(randomBatch(4, 32, 1)) as tf.Tensor;
    expect(out.shape).toEqual([4, 32, 32, 1]);
    out.dispose();
    const engine = createModel(unet);
    const weights = engine.getWeights();
    const names = weights.map((w) => w.name);
    expect(names).toEqual([
      ...[1, 2, 3, 4].flatMap((k) => [`enc${k}/conv1/kernel`, `enc${k}/conv2/kernel`]),
      'bottleneck/conv1/kernel', 'bottleneck/conv2/kernel',
      ...[4, 3, 2, 1].flatMap((k) => [`up${k}/kernel`, `up${k}/bias`, `dec${k}/conv1/kernel`, `dec${k}/conv2/kernel`]),
      'final/kernel', 'final/bias',
    ]);
    const shapes = Object.fromEntries(weights.map((w) => [w.name, w.shape]));
    expect(shapes['enc1/conv1/kernel']).toEqual([3, 3, 1, 8]);
    expect(shapes['bottleneck/conv2/kernel']).toEqual([3, 3, 128, 128]);
    expect(shapes['up4/kernel']).toEqual([2, 2, 64, 128]);
    expect(shapes['dec4/conv1/kernel']).toEqual([3, 3, 128, 64]);
    expect(shapes['final/kernel']).toEqual([1, 1, 8, 1]);
    const twin = createModel(unet);
    expect(Array.from(twin.getWeights()[3]!.values)).toEqual(Array.from(weights[3]!.values));
    twin.dispose();
    expect(() => createModel({ ...unet, inputSize: 24 })).toThrow(/divisible by 16/);
    engine.dispose();
    model.dispose();
  });

  it('soft Dice of a perfect prediction is ≈ 1 (empty masks included), of the inverse ≈ 0', () => {
    const mask = tf.tensor4d([1, 1, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0], [3, 2, 2, 1]);
    const perfect = softDice(tf.sub(tf.mul(mask, 80), 40), mask).dataSync();
    perfect.forEach((d) => expect(d).toBeGreaterThan(1 - 1e-4));
    const inverse = softDice(tf.sub(20, tf.mul(mask, 40)), mask).dataSync();
    expect(inverse[0]).toBeLessThan(1e-4);
    tf.dispose(mask);
  });

  it('learns a toy segmentation: the Dice loss falls; evaluate reports Dice and pixel accuracy', async () => {
    const model = createModel({ ...unet, width: 4 });
    const data = squares(8, 32, 4, true);
    const before = await model.evaluate(data, 4);
    expect(before.dice).toBeCloseTo(1 - before.loss, 10);
    const losses = await trainEpochs(model, data, 2, 1e-2);
    const after = await model.evaluate(data, 4);
    expect(losses.at(-1)!).toBeLessThan(losses[0]!);
    expect(after.dice!).toBeGreaterThan(before.dice!);
    expect(after.accuracy).toBeGreaterThan(0);
    expect(after.accuracy).toBeLessThanOrEqual(1);
    const unmasked = squares(4, 32, 5, false);
    await expect(model.evaluate(unmasked, 4)).rejects.toThrow(/needs masks/);
    model.dispose();
  }, 120_000);
});
