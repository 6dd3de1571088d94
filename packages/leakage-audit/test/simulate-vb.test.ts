import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { createModel, createSmallCnnVb, MemoryDataset } from '@fedward/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerSecondOrderGradients } from '../src/second-order';
import { paramsFromWeights, type LocalTraining } from '../src/simulate';
import { assertSmallCnnVb, simulateLocalUpdateVb, smallCnnVbForward } from '../src/simulate-vb';
import { images, seededFill, zscore } from './fixtures';

const spec: ModelSpec = { kind: 'small-cnn-vb', inputSize: 16, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore', vb: { beta: 0.1, k: 8 } };
const training: LocalTraining = { learningRate: 0.05, steps: 3, weightDecay: 1e-6, normalization: 'zscore' };

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

/** The engine's update after `training.steps` one-batch 'sgd' epochs. */
async function engineUpdate(engine: ReturnType<typeof createModel>, input: Float32Array, labels: Int32Array): Promise<Float32Array[]> {
  const before = engine.getWeights();
  const data = new MemoryDataset(Array.from(labels, (label, i) => ({ x: input.slice(i * 256, (i + 1) * 256), label })));
  for (let epoch = 0; epoch < training.steps; epoch++) {
    const run = engine.trainEpoch(data, { epoch, batchSize: 16, learningRate: training.learningRate, optimizer: 'sgd', weightDecay: training.weightDecay });
    while (!(await run.next()).done);
  }
  return engine.getWeights().map((w, i) => w.values.map((v, k) => v - before[i]!.values[k]!));
}

const maxAbs = (a: ArrayLike<number>) => Math.max(...Array.from(a, Math.abs));

describe('the simulated local training of small-cnn-vb', () => {
  it('computes the logits of ModelEngine.predict on the z = μ path', () => {
    const engine = createModel(spec);
    const input = zscore(images(3, 1), 256);
    const expected = engine.predict(input, 3);
    const weights = engine.getWeights();
    assertSmallCnnVb(spec, weights);
    const got = tf.tidy(() => smallCnnVbForward(paramsFromWeights(weights), tf.tensor4d(input, [3, 16, 16, 1]), 8, null).logits.dataSync());
    expect(maxAbs(Array.from(got, (v, i) => v - expected[i]!))).toBeLessThan(1e-5);
    expect(() => assertSmallCnnVb({ ...spec, kind: 'small-cnn', vb: undefined }, weights)).toThrow(/rebuilds small-cnn-vb/);
    engine.dispose();
  });

  it("reproduces trainEpoch's update only given the hospital's own ε draws, which the attacker lacks", async () => {
    const x = images(2, 2);
    const labels = new Int32Array([1, 0]);
    const engine = createSmallCnnVb(spec, seededFill(9));
    const before = engine.getWeights();
    const actual = await engineUpdate(engine, zscore(x, 256), labels);
    const simulate = (noise: Parameters<typeof simulateLocalUpdateVb>[5]) =>
      tf.tidy(() => simulateLocalUpdateVb(spec, paramsFromWeights(before), tf.tensor4d(x, [2, 16, 16, 1]), labels, training, noise).map((t) => Float32Array.from(t.dataSync())));
    const error = (sim: Float32Array[]) => Math.max(...sim.map((s, i) => maxAbs(s.map((v, k) => v - actual[i]![k]!))));
    const maxDelta = Math.max(...actual.map(maxAbs));
    expect(maxDelta).toBeGreaterThan(1e-3);
    // The same ε stream (same seed, one [N, K] draw per step in both): the same update.
    expect(error(simulate({ draws: seededFill(9) }))).toBeLessThan(1e-3 * maxDelta);
    // The attacker's μ path and its own draws miss it.
    expect(error(simulate('mean'))).toBeGreaterThan(1e-3 * maxDelta);
    expect(error(simulate({ draws: seededFill(10) }))).toBeGreaterThan(1e-3 * maxDelta);
    engine.dispose();
  });

  // As in simulate.test.ts: a step of 1e-4 stays on one smooth piece of the ReLU/max-pool kinks.
  it('has an image gradient of an update-matching objective that matches finite differences', () => {
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    const labels = new Int32Array([1]);
    const observed = tf.tidy(() => simulateLocalUpdateVb(spec, params, tf.tensor4d(images(1, 3), [1, 16, 16, 1]), labels, training, 'mean'));
    const f = (xx: tf.Tensor) => {
      const delta = simulateLocalUpdateVb(spec, params, xx as tf.Tensor4D, labels, training, 'mean');
      return tf.addN(delta.map((d, i) => tf.sum(tf.square(tf.sub(d, observed[i]!))))) as tf.Scalar;
    };
    const x = tf.tensor4d(images(1, 4), [1, 16, 16, 1]);
    for (const seed of [5, 6]) {
      const v = tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', seed);
      const h = 1e-4;
      const auto = tf.tidy(() => tf.sum(tf.mul(tf.grad(f)(x), v)).dataSync()[0]!);
      const fd = tf.tidy(() => (f(tf.add(x, tf.mul(h, v))).dataSync()[0]! - f(tf.sub(x, tf.mul(h, v))).dataSync()[0]!) / (2 * h));
      expect(Math.abs(auto - fd)).toBeLessThan(0.05 * Math.abs(fd) + 2e-3);
      expect(Math.abs(auto)).toBeGreaterThan(1e-6);
      v.dispose();
    }
    tf.dispose([...params, ...observed, x]);
    engine.dispose();
  });
});
