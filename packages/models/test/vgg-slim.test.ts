import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { defaultTensorRole } from '@fedward/personalization';
import { MemoryDataset, activateBackend, createModel, seededRandom, type MemorySample, type ModelEngine } from '../src';
import { buildVggSlim, vggSlimLayout } from '../src/vgg-slim';

const spec: ModelSpec = { kind: 'vgg-slim', inputSize: 32, channels: 1, numClasses: 2, seed: 5 };

beforeAll(async () => {
  await activateBackend(['cpu']);
});

/** Class 1: a bright 4×4 square somewhere on noise. */
function squareSamples(n: number, size: number, seed: number): MemorySample[] {
  const rand = seededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
      const label = i % 2;
      const x = Float32Array.from({ length: size * size }, () => rand() * 0.4);
      if (label) {
        const r = 1 + Math.floor(rand() * (size - 6));
        const c = 1 + Math.floor(rand() * (size - 6));
        for (let dy = 0; dy < 4; dy++) for (let dx = 0; dx < 4; dx++) x[(r + dy) * size + c + dx] = 1;
      }
      return { x, label };
  });
}

const squares = (n: number, size: number, seed: number) => new MemoryDataset(squareSamples(n, size, seed));

async function drain<T, R>(gen: AsyncGenerator<T, R>): Promise<R> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

const byName = (weights: readonly NamedTensor[]) => new Map(weights.map((w) => [w.name, w]));

describe('vgg-slim', () => {
  it('has the seed topology shrunk, seed-convention names with roles, shapes, and seeded init', () => {
    const engine = createModel(spec);
    const weights = engine.getWeights();
    const names = weights.map((w) => w.name);
    const convs = ['1_1', '1_2', '2_1', '2_2', '3_1', '3_2'];
    const norm = (id: string) => ['gamma', 'beta', 'moving_mean', 'moving_variance'].map((leaf) => `${id}/${leaf}`);
    expect(names).toEqual([
      ...convs.flatMap((id) => [`conv${id}/kernel`, ...norm(`bn${id}`)]),
      'linear1/kernel',
      ...norm('bn_fc1'),
      'linear2/kernel',
    ]);
    const shapes = Object.fromEntries(weights.map((w) => [w.name, w.shape]));
    expect(shapes['conv1_1/kernel']).toEqual([3, 3, 1, 8]);
    expect(shapes['conv1_2/kernel']).toEqual([3, 3, 8, 8]);
    expect(shapes['conv2_1/kernel']).toEqual([3, 3, 8, 16]);
    expect(shapes['conv3_2/kernel']).toEqual([3, 3, 32, 32]);
    expect(shapes['bn3_2/moving_variance']).toEqual([32]);
    expect(shapes['linear1/kernel']).toEqual([32, 16]);
    expect(shapes['bn_fc1/gamma']).toEqual([16]);
    expect(shapes['linear2/kernel']).toEqual([16, 2]);
    expect(vggSlimLayout(32)).toEqual({ blocks: [[32, 32], [64, 64], [128, 128]], hidden: 64 });
    // PFA / FedBN roles come from the names and shapes.
    for (const w of weights) {
      const role = defaultTensorRole(w);
      if (w.name.startsWith('conv')) expect(role).toBe('conv');
      else if (w.name.startsWith('linear')) expect(role).toBe('dense');
      else expect(role).toBe('norm');
    }
    // torch's defaults: kernels U(±1/√fan_in), γ 1, β 0, moving mean 0, moving variance 1.
    const w = byName(weights);
    const k = w.get('conv2_1/kernel')!.values;
    const bound = 1 / Math.sqrt(3 * 3 * 8);
    expect(Math.max(...k.map(Math.abs))).toBeLessThanOrEqual(bound);
    expect(Math.max(...k.map(Math.abs))).toBeGreaterThan(0.9 * bound);
    expect([...w.get('bn2_1/gamma')!.values].every((v) => v === 1)).toBe(true);
    expect([...w.get('bn2_1/beta')!.values].every((v) => v === 0)).toBe(true);
    expect([...w.get('bn2_1/moving_mean')!.values].every((v) => v === 0)).toBe(true);
    expect([...w.get('bn2_1/moving_variance')!.values].every((v) => v === 1)).toBe(true);
    const twin = createModel(spec);
    expect(twin.getWeights().map((t) => [...t.values])).toEqual(weights.map((t) => [...t.values]));
    const other = createModel({ ...spec, seed: 6 });
    expect([...other.getWeights()[0]!.values]).not.toEqual([...weights[0]!.values]);
    const model = buildVggSlim(spec);
    const out = model.predict(tf.zeros([3, 32, 32, 1])) as tf.Tensor;
    expect(out.shape).toEqual([3, 2]);
    tf.dispose(out);
    model.dispose();
    for (const e of [engine, twin, other]) e.dispose();
    expect(() => buildVggSlim({ ...spec, inputSize: 4 })).toThrow(/at least 8 px/);
  });

  it('a training step through the engine updates the moving statistics (torch momentum 0.1, ε 1e-5)', async () => {
    const small: ModelSpec = { ...spec, inputSize: 16, width: 4 };
    const engine = createModel(small);
    const samples = squareSamples(8, 16, 1);
    const data = new MemoryDataset(samples);
    const before = byName(engine.getWeights());
    // bn1_1 sees conv1_1(x) with the weights before the step: its batch mean and biased variance.
    const [mean, variance] = tf.tidy(() => {
      const kernel = before.get('conv1_1/kernel')!;
      const x = tf.tensor4d(Float32Array.from(samples.flatMap((s) => [...s.x])), [8, 16, 16, 1]);
      const y = tf.conv2d(x, tf.tensor4d(kernel.values, kernel.shape as [number, number, number, number]), 1, 'same');
      const m = tf.moments(y, [0, 1, 2]);
      return [m.mean, m.variance];
    });
    await drain(engine.trainEpoch(data, { epoch: 1, batchSize: 8, learningRate: 0.01 }));
    const after = byName(engine.getWeights());
    const m = after.get('bn1_1/moving_mean')!.values;
    const v = after.get('bn1_1/moving_variance')!.values;
    const expectedMean = mean!.mul(0.1).dataSync();
    const expectedVar = variance!.mul(0.1).add(0.9).dataSync();
    for (let c = 0; c < 4; c++) {
      expect(m[c]!).toBeCloseTo(expectedMean[c]!, 5);
      expect(v[c]!).toBeCloseTo(expectedVar[c]!, 5);
    }
    expect([...m].some((x) => x !== 0)).toBe(true);
    // Every norm's moving statistics moved, the head's BatchNorm1d too.
    for (const id of ['bn1_1', 'bn2_2', 'bn3_2', 'bn_fc1']) {
      expect([...after.get(`${id}/moving_mean`)!.values]).not.toEqual([...before.get(`${id}/moving_mean`)!.values]);
      expect([...after.get(`${id}/moving_variance`)!.values]).not.toEqual([...before.get(`${id}/moving_variance`)!.values]);
    }
    tf.dispose([mean!, variance!]);
    engine.dispose();
  });

  it('learns a toy task, and evaluation uses the moving statistics (batch-independent, follows the stored values)', async () => {
    const small: ModelSpec = { ...spec, inputSize: 16, width: 4, seed: 3 };
    const engine: ModelEngine = createModel(small);
    const data = squares(32, 16, 4);
    const losses: number[] = [];
    // The moving statistics lag the batch statistics (momentum 0.1 per step): evaluation catches up after ~8 epochs here.
    for (let epoch = 1; epoch <= 10; epoch++) {
      const r = await drain(engine.trainEpoch(data, { epoch, batchSize: 8, learningRate: 0.01, shuffleSeed: epoch }));
      expect(r.steps).toBe(4);
      losses.push(r.loss);
    }
    expect(losses.at(-1)!).toBeLessThan(0.4 * losses[0]!);
    const all = await engine.evaluate(data, 32);
    expect(all.accuracy).toBeGreaterThanOrEqual(0.9);
    // With batch statistics a batch of one would normalise every activation to β; with moving ones it equals the batch of 32.
    const one = await engine.evaluate(data, 1);
    expect(one.loss).toBeCloseTo(all.loss, 5);
    expect(one.accuracy).toBe(all.accuracy);
    // Shifting a stored moving mean changes evaluation: it is what evaluation reads.
    engine.setWeights(engine.getWeights().map((w) => (w.name === 'bn_fc1/moving_mean' ? { ...w, values: w.values.map((x) => x + 3) } : w)));
    const shifted = await engine.evaluate(data, 32);
    expect(Math.abs(shifted.loss - all.loss)).toBeGreaterThan(1e-2);
    engine.dispose();
  }, 60_000);
});
