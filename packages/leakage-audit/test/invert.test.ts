import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { createModel } from '@fedward/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoImages } from '../src/demo-images';
import { homotopyTemperature, invert, stepSize, type InvertProgress, type InvertResult } from '../src/invert';
import { matchMoments, psnr } from '../src/metrics';
import { paramsFromWeights, simulateLocalUpdate, type LocalTraining } from '../src/simulate';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

describe('invert', () => {
  it("cuts the step size ×0.1 at the seed's MultiStepLR milestones", () => {
    expect(stepSize(0.1, 0, 800)).toBeCloseTo(0.1, 12);
    // ⌊800/2.667⌋ = 299, ⌊800/1.6⌋ = 500, ⌊800/1.142⌋ = 700.
    expect(stepSize(0.1, 298, 800)).toBeCloseTo(0.1, 12);
    expect(stepSize(0.1, 299, 800)).toBeCloseTo(0.01, 12);
    expect(stepSize(0.1, 500, 800)).toBeCloseTo(0.001, 12);
    expect(stepSize(0.1, 699, 800)).toBeCloseTo(0.001, 12);
    expect(stepSize(0.1, 700, 800)).toBeCloseTo(0.0001, 12);
  });

  it('cools the homotopy linearly to the exact model at its fraction of the run, and refuses it with another simulation', async () => {
    const homotopy = { temperature: 0.4, until: 0.5 };
    expect(homotopyTemperature(undefined, 0, 100)).toBe(0);
    expect(homotopyTemperature(homotopy, 0, 100)).toBeCloseTo(0.4, 12);
    expect(homotopyTemperature(homotopy, 25, 100)).toBeCloseTo(0.2, 12);
    expect(homotopyTemperature(homotopy, 50, 100)).toBe(0);
    expect(homotopyTemperature(homotopy, 99, 100)).toBe(0);
    const run = invert({ params: [], observed: [], labels: new Int32Array([0]), shape: [1, 8, 8, 1], numClasses: 2, training: { learningRate: 0.01, steps: 1, weightDecay: 0, normalization: 'zscore' }, iterations: 1, restarts: 1, homotopy, simulate: () => [] });
    await expect(run.next()).rejects.toThrow(/homotopy: for the small CNN only/);
  });

  it('reconstructs an 8×8 demo slice from a 4-step SGD update far better than its random start', async () => {
    const size = 8;
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
    const training: LocalTraining = { learningRate: 0.01, steps: 4, weightDecay: 1e-6, normalization: 'zscore' };
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    engine.dispose();
    const { x, labels } = demoImages(1, size);
    // The hospital's update (simulate.test.ts checks this equals ModelEngine.trainEpoch's).
    const observed = tf.tidy(() => simulateLocalUpdate(params, tf.tensor4d(x, [1, size, size, 1]), labels, training, 2));
    const run = invert({ params, observed, labels, shape: [1, size, size, 1], numClasses: 2, training, iterations: 250, restarts: 1, learningRate: 0.1, tvWeight: 0.01, signed: false });
    const progress: InvertProgress[] = [];
    let step = await run.next();
    while (!step.done) {
      progress.push(step.value);
      step = await run.next();
    }
    const result: InvertResult = step.value;
    tf.dispose([...params, ...observed]);
    expect(progress.length).toBe(250);
    expect(progress.at(-1)!.iteration).toBe(250);
    expect(result.loss).toBeLessThan(progress[0]!.loss / 2);
    const reconstructed = psnr(matchMoments(result.images, x), x);
    const start = psnr(matchMoments(result.initial, x), x);
    expect(reconstructed).toBeGreaterThanOrEqual(start + 5);
    expect(Math.min(...result.images)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...result.images)).toBeLessThanOrEqual(1);
  });

  it('keeps the image and a finite objective where the model saturates and the simulated update is exactly zero', async () => {
    // A DP-noised global model can be this: logits so large that softmax is exactly one-hot on
    // the label, so the simulated Δ is 0 (before the fix, ∇R was NaN and the image went blank).
    const size = 8;
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
    const training: LocalTraining = { learningRate: 0.01, steps: 1, weightDecay: 1e-6, normalization: 'zscore' };
    const engine = createModel(spec);
    const weights = engine.getWeights();
    engine.dispose();
    const { x, labels } = demoImages(1, size);
    // Logits bias of ±1000 in the label's favour: softmax is one-hot whatever the image.
    const bias = new Float32Array(2).map((_, k) => (k === labels[0] ? 1000 : -1000));
    const params = paramsFromWeights(weights.map((w) => (w.name === 'logits/bias' ? { ...w, values: bias } : w)));
    const zero = tf.tidy(() => simulateLocalUpdate(params, tf.tensor4d(x, [1, size, size, 1]), labels, training, 2));
    expect(zero.every((t) => t.abs().max().dataSync()[0] === 0)).toBe(true);
    const observed = params.map((p) => tf.randomNormal(p.shape, 0, 1, 'float32', 3));
    const run = invert({ params, observed, labels, shape: [1, size, size, 1], numClasses: 2, training, iterations: 5, restarts: 1, learningRate: 0.1, tvWeight: 0, signed: false });
    let step = await run.next();
    while (!step.done) {
      expect(step.value.loss).toBe(1);
      step = await run.next();
    }
    expect(Array.from(step.value.images)).toEqual(Array.from(step.value.initial));
    tf.dispose([...params, ...observed, ...zero]);
  });

  it('names a non-finite objective instead of clipping NaN pixels into a blank image', async () => {
    const size = 8;
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
    const engine = createModel(spec);
    const weights = engine.getWeights();
    engine.dispose();
    const params = paramsFromWeights(weights.map((w, i) => (i === 0 ? { ...w, values: w.values.map(() => Number.NaN) } : w)));
    const observed = params.map((p) => tf.onesLike(p));
    const { labels } = demoImages(1, size);
    const run = invert({ params, observed, labels, shape: [1, size, size, 1], numClasses: 2, training: { learningRate: 0.01, steps: 1, weightDecay: 0, normalization: 'zscore' }, iterations: 2, restarts: 1 });
    await expect(run.next()).rejects.toThrow(/not finite at step 1 .*NaN/);
    tf.dispose([...params, ...observed]);
  });
});
