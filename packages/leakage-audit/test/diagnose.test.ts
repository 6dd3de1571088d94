import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { createModel } from '@fedward/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { diagnose, influenceMask, maskedPsnr, maskFraction, projectedSensitivity, warmStartProbe } from '../src/diagnose';
import { invert } from '../src/invert';
import { demoImages } from '../src/demo-images';
import { totalVariation } from '../src/objective';
import { registerSecondOrderGradients } from '../src/second-order';
import { normalizeImages, paramsFromWeights, simulateLocalUpdate, type LocalTraining } from '../src/simulate';

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

describe('the influenced-pixel measurement', () => {
  it('finds exactly the pixels a hand-written f depends on (2×2 image: a scaled pixel, a square, a max)', () => {
    // u = [[0.1, 0.9], [0.3, 0.2]]: f = (3·u00, u11², max u). u01 only through the max (its argmax),
    // u10 not at all: 3 of 4 pixels influenced.
    const u = tf.tensor4d([0.1, 0.9, 0.3, 0.2], [1, 2, 2, 1]);
    const f = (v: tf.Tensor4D) => {
      const flat = tf.reshape(v, [4]);
      return [tf.mul(3, tf.slice(flat, [0], [1])), tf.square(tf.slice(flat, [3], [1])), tf.max(flat)];
    };
    const s = projectedSensitivity(f, u, 4, 1);
    expect(Array.from(influenceMask(s))).toEqual([1, 1, 0, 1]);
    expect(maskFraction(influenceMask(s))).toBe(0.75);
    u.dispose();
  });

  it('a max alone influences one pixel: the global max pool in miniature', () => {
    const u = tf.tensor4d([0.1, 0.9, 0.3, 0.2, 0.5, 0.4, 0.0, 0.6, 0.7], [1, 3, 3, 1]);
    const mask = influenceMask(projectedSensitivity((v) => [tf.max(v)], u, 3, 2));
    expect(Array.from(mask)).toEqual([0, 1, 0, 0, 0, 0, 0, 0, 0]);
    u.dispose();
  });

  it('maskedPsnr takes only the pixels of the chosen region', () => {
    const a = [0, 0, 0, 0];
    const b = [0.1, 0.1, 0.5, 0.5];
    const mask = [1, 1, 0, 0];
    expect(maskedPsnr(a, b, mask, 1)).toBeCloseTo(20, 6);
    expect(maskedPsnr(a, b, mask, 0)).toBeCloseTo(10 * Math.log10(4), 6);
    expect(maskedPsnr(a, b, [1, 1, 1, 1], 0)).toBeNaN();
  });

  it("on the small CNN, a pixel it calls uninfluenced does not move Δ; an influenced one does", () => {
    const size = 16;
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
    const training: LocalTraining = { learningRate: 0.01, steps: 1, weightDecay: 1e-6, normalization: 'unit' };
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    engine.dispose();
    const { x, labels } = demoImages(1, size);
    const u = tf.tidy(() => normalizeImages(tf.tensor4d(x, [1, size, size, 1]), 'zscore'));
    const delta = (v: tf.Tensor4D) => simulateLocalUpdate(params, v, labels, training, 2);
    const mask = influenceMask(projectedSensitivity(delta, u, 4, 3));
    const fraction = maskFraction(mask);
    expect(fraction).toBeGreaterThan(0.2);
    expect(fraction).toBeLessThan(1);
    const change = (pixel: number) =>
      tf.tidy(() => {
        const bump = tf.tensor4d(Float32Array.from({ length: size * size }, (_, k) => (k === pixel ? 1e-3 : 0)), u.shape);
        const a = delta(u);
        const b = delta(tf.add(u, bump) as tf.Tensor4D);
        return Math.max(...a.map((t, i) => tf.max(tf.abs(tf.sub(t, b[i]!))).dataSync()[0]!));
      });
    const off = mask.indexOf(0);
    const on = mask.indexOf(1);
    expect(change(off)).toBe(0);
    expect(change(on)).toBeGreaterThan(1e-8);
    tf.dispose([...params, u]);
  });

  it('diagnose: R at the true images is their TV term alone when Δ is theirs', () => {
    const size = 12;
    const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
    const training: LocalTraining = { learningRate: 0.01, steps: 2, weightDecay: 1e-6, normalization: 'zscore' };
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    engine.dispose();
    const { x, labels } = demoImages(2, size);
    const shape: [number, number, number, number] = [2, size, size, 1];
    const observed = tf.tidy(() => simulateLocalUpdate(params, tf.tensor4d(x, shape), labels, training, 2));
    const d = diagnose({ params, x, labels, shape, numClasses: 2, training, observed, reconstruction: x, initial: x.map((v) => 1 - v), attackLoss: 0.5, tvWeight: 0.01, projections: 2 });
    const tv = tf.tidy(() => totalVariation(normalizeImages(tf.tensor4d(x, shape), 'zscore')).dataSync()[0]!);
    expect(d.objectiveAtTruth).toBeCloseTo(0.01 * tv, 4);
    expect(d.parameters).toBe(1282);
    expect(d.pixels).toBe(2 * size * size);
    expect(d.images).toHaveLength(2);
    for (const i of d.images) {
      expect(i.influencedFraction).toBeGreaterThan(0);
      expect(i.psnrInfluenced).toBe(Number.POSITIVE_INFINITY);
      expect(i.psnrCeiling).toBeGreaterThan(i.psnrMeanOnly);
    }
    tf.dispose([...params, ...observed]);
  });
});

describe('the warm-start probe', () => {
  const size = 12;
  const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
  const training: LocalTraining = { learningRate: 0.01, steps: 1, weightDecay: 1e-6, normalization: 'zscore' };
  const shape: [number, number, number, number] = [1, size, size, 1];

  it('starts the attack at the given images (and refuses a start of the wrong size)', async () => {
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    engine.dispose();
    const { x, labels } = demoImages(1, size);
    const observed = tf.tidy(() => simulateLocalUpdate(params, tf.tensor4d(x, shape), labels, training, 2));
    const base = { params, observed, labels, shape, numClasses: 2, training, iterations: 2, restarts: 2, learningRate: 1e-3 };
    const run = invert({ ...base, start: x });
    let step = await run.next();
    while (!step.done) step = await run.next();
    expect(Array.from(step.value.initial)).toEqual(Array.from(x));
    await expect(invert({ ...base, start: x.subarray(1) }).next()).rejects.toThrow(/start of 143 values/);
    tf.dispose([...params, ...observed]);
  });

  it('at noise 0 starts exactly at the truth: infinite PSNR and R = the TV term', async () => {
    const engine = createModel(spec);
    const params = paramsFromWeights(engine.getWeights());
    engine.dispose();
    const { x, labels } = demoImages(1, size);
    const observed = tf.tidy(() => simulateLocalUpdate(params, tf.tensor4d(x, shape), labels, training, 2));
    const probe = { params, observed, labels, shape, numClasses: 2, training, iterations: 3, learningRate: 1e-3, tvWeight: 0.01, signed: false, x };
    const exact = await warmStartProbe({ ...probe, noise: 0 });
    const tv = tf.tidy(() => totalVariation(normalizeImages(tf.tensor4d(x, shape), 'zscore')).dataSync()[0]!);
    expect(exact.startPsnr).toEqual([Number.POSITIVE_INFINITY]);
    expect(exact.startLoss).toBeCloseTo(0.01 * tv, 4);
    expect(exact.endPsnr[0]).toBeGreaterThan(30);
    const noisy = await warmStartProbe({ ...probe, noise: 0.02 });
    expect(noisy.startPsnr[0]).toBeGreaterThan(25);
    expect(noisy.startPsnr[0]).toBeLessThan(45);
    expect(noisy.startLoss).toBeGreaterThan(exact.startLoss);
    tf.dispose([...params, ...observed]);
  });
});
