import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { createModel, MemoryDataset } from '@fedward/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { attackObjective } from '../src/invert';
import { registerSecondOrderGradients } from '../src/second-order';
import { assertSmallCnn, normalizeImages, paramsFromWeights, simulateLocalUpdate, smallCnnLogits, type LocalTraining } from '../src/simulate';
import { images, zscore } from './fixtures';

const spec: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
const training: LocalTraining = { learningRate: 0.05, steps: 3, weightDecay: 1e-6, normalization: 'zscore' };

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

describe('the simulated local training', () => {
  it('computes the logits of the product small CNN (ModelEngine.predict)', () => {
    const engine = createModel(spec);
    const x = images(3, 1);
    const input = zscore(x, 256);
    const expected = engine.predict(input, 3);
    const weights = engine.getWeights();
    assertSmallCnn(spec, weights);
    const got = tf.tidy(() => smallCnnLogits(paramsFromWeights(weights), tf.tensor4d(input, [3, 16, 16, 1])).dataSync());
    expect(Math.max(...Array.from(got).map((v, i) => Math.abs(v - expected[i]!)))).toBeLessThan(1e-5);
    engine.dispose();
  });

  it("reproduces the update of ModelEngine.trainEpoch with the product's 'sgd' optimizer", async () => {
    const engine = createModel(spec);
    const x = images(2, 2);
    const labels = new Int32Array([1, 0]);
    const before = engine.getWeights();
    const input = zscore(x, 256);
    const data = new MemoryDataset([0, 1].map((i) => ({ x: input.slice(i * 256, (i + 1) * 256), label: labels[i]! })));
    for (let epoch = 0; epoch < training.steps; epoch++) {
      const run = engine.trainEpoch(data, { epoch, batchSize: 16, learningRate: training.learningRate, optimizer: 'sgd', weightDecay: training.weightDecay });
      while (!(await run.next()).done);
    }
    const after = engine.getWeights();
    const simulated = tf.tidy(() => simulateLocalUpdate(paramsFromWeights(before), tf.tensor4d(x, [2, 16, 16, 1]), labels, training, 2).map((t) => Array.from(t.dataSync())));
    let maxErr = 0;
    let maxDelta = 0;
    after.forEach((w, i) => {
      w.values.forEach((v, k) => {
        const delta = v - before[i]!.values[k]!;
        maxDelta = Math.max(maxDelta, Math.abs(delta));
        maxErr = Math.max(maxErr, Math.abs(delta - simulated[i]![k]!));
      });
    });
    expect(maxDelta).toBeGreaterThan(1e-3);
    expect(maxErr).toBeLessThan(1e-3 * maxDelta);
    engine.dispose();
  });

  it('smooths its ReLUs and max pools under a temperature, tending to the exact logits as it falls', () => {
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    const input = tf.tensor4d(images(2, 8), [2, 16, 16, 1]);
    const gap = (t: number) => tf.tidy(() => tf.max(tf.abs(tf.sub(smallCnnLogits(params, input, t), smallCnnLogits(params, input)))).dataSync()[0]!);
    const [warm, cool, cold] = [gap(0.5), gap(0.05), gap(1e-4)];
    expect(warm).toBeGreaterThan(cool);
    expect(cool).toBeGreaterThan(cold);
    expect(cold).toBeLessThan(1e-3);
    tf.dispose([...params, input]);
    engine.dispose();
  });

  /**
   * The image gradient of the attack objective (the simulation at `temperature`) along random
   * directions against central differences of step h: |auto − fd| < rel·|fd| + abs.
   */
  function checkImageGradient(temperature: number, seeds: number[], h: number, rel: number, abs: number, least: number): void {
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    const labels = new Int32Array([1]);
    const observed = tf.tidy(() => simulateLocalUpdate(params, tf.tensor4d(images(1, 3), [1, 16, 16, 1]), labels, training, 2));
    const o = { params, observed, labels, numClasses: 2, training };
    const x = tf.tensor4d(images(1, 4), [1, 16, 16, 1]);
    for (const seed of seeds) {
      const v = tf.randomNormal([1, 16, 16, 1], 0, 1, 'float32', seed);
      const f = (xx: tf.Tensor) => attackObjective(xx as tf.Tensor4D, o, 0, temperature);
      const auto = tf.tidy(() => tf.sum(tf.mul(tf.grad(f)(x), v)).dataSync()[0]!);
      const fd = tf.tidy(() => (f(tf.add(x, tf.mul(h, v))).dataSync()[0]! - f(tf.sub(x, tf.mul(h, v))).dataSync()[0]!) / (2 * h));
      expect(Math.abs(auto - fd)).toBeLessThan(rel * Math.abs(fd) + abs);
      expect(Math.abs(auto)).toBeGreaterThan(least);
    }
    tf.dispose([...params, ...observed, x]);
    engine.dispose();
  }

  it('has an image gradient of the smoothed (homotopy) objective that matches finite differences', () => {
    checkImageGradient(0.3, [5, 6], 1e-3, 0.02, 1e-4, 1e-3);
  });

  // The objective is piecewise smooth (ReLU kinks, max-pool argmax switches): a difference step
  // of 1e-2 or 1e-3 crosses kinks and is off by O(1); at 1e-4 (float32 rounding ≈ 1e-3 absolute)
  // the difference sees one smooth piece. Seeds are fixed, so the check is deterministic.
  it('has an image gradient of the attack objective that matches finite differences', () => {
    checkImageGradient(0, [5, 6, 7], 1e-4, 0.05, 2e-3, 5e-3);
  });

  it('normalises each image to mean 0 and sd 1 as the hospital does', () => {
    const x = images(2, 7);
    const got = tf.tidy(() => normalizeImages(tf.tensor4d(x, [2, 16, 16, 1]), 'zscore').dataSync());
    const want = zscore(x, 256);
    expect(Math.max(...Array.from(got).map((v, i) => Math.abs(v - want[i]!)))).toBeLessThan(1e-4);
  });
});
