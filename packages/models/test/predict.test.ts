import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import { MemoryDataset, activateBackend, createModel, seededRandom, type MemorySample } from '../src';

/**
 * `ModelEngine.predict` is what the hospital app's "Try the model" shows: it must be the outputs
 * `evaluate` scores, for a model rebuilt from another engine's weights (a saved global model).
 */
const classifier: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 3, seed: 4 };
const segmenter: ModelSpec = { kind: 'unet', inputSize: 16, channels: 1, numClasses: 2, seed: 6, width: 4 };

function samples(spec: ModelSpec, n: number, seed: number): MemorySample[] {
  const rand = seededRandom(seed);
  const area = spec.inputSize * spec.inputSize;
  return Array.from({ length: n }, (_, i) => ({
    x: Float32Array.from({ length: area }, () => rand() * 2 - 1),
    label: i % spec.numClasses,
    ...(spec.kind === 'unet' ? { mask: Float32Array.from({ length: area }, () => (rand() < 0.3 ? 1 : 0)) } : {}),
  }));
}

/** Every sample's pixels, one after the other (NHWC with one channel). */
const stack = (s: readonly MemorySample[]): Float32Array => {
  const out = new Float32Array(s.reduce((n, x) => n + x.x.length, 0));
  s.forEach((x, i) => out.set(x.x, i * x.x.length));
  return out;
};

beforeAll(async () => {
  await activateBackend(['cpu']);
});

describe('ModelEngine.predict', () => {
  it('gives a classifier’s logits, [count, K], whose argmax is what evaluate scores; a rebuilt model predicts the same', async () => {
    const trained = createModel(classifier);
    // Weights that are not the seed's, so that the rebuilt model cannot match by its own init.
    trained.setWeights(trained.getWeights().map((w, i) => ({ ...w, values: w.values.map((v) => v + 0.01 * ((i % 3) - 1)) })));
    const data = samples(classifier, 12, 1);
    const logits = trained.predict(stack(data), data.length);
    expect(logits).toHaveLength(data.length * classifier.numClasses);
    expect(logits.every(Number.isFinite)).toBe(true);
    const hits = data.filter((s, i) => {
      const row = Array.from(logits.subarray(i * 3, i * 3 + 3));
      return row.indexOf(Math.max(...row)) === s.label;
    }).length;
    expect((await trained.evaluate(new MemoryDataset(data), data.length)).accuracy).toBeCloseTo(hits / data.length, 10);

    const rebuilt = createModel(classifier);
    rebuilt.setWeights(trained.getWeights());
    expect(Array.from(rebuilt.predict(stack(data), data.length))).toEqual(Array.from(logits));
    trained.dispose();
    rebuilt.dispose();
  });

  it('gives a U-Net’s per-pixel logits, [count, H, W, 1], whose pixel accuracy is what evaluate scores', async () => {
    const engine = createModel(segmenter);
    const data = samples(segmenter, 4, 2);
    const logits = engine.predict(stack(data), data.length);
    const area = segmenter.inputSize ** 2;
    expect(logits).toHaveLength(data.length * area);
    let hits = 0;
    data.forEach((s, i) => s.mask!.forEach((m, p) => (hits += (logits[i * area + p]! >= 0) === m >= 0.5 ? 1 : 0)));
    expect((await engine.evaluate(new MemoryDataset(data), data.length)).accuracy).toBeCloseTo(hits / (data.length * area), 10);
    engine.dispose();
  });
});
