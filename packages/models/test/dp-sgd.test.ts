import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import { MemoryDataset, createModel, seededRandom, activateBackend, type Batch } from '../src';
import type { LayersEngine } from '../src/engine';
import { NoisedGradient } from '../src/dp-sgd/noised-gradient';
import { poissonBatch, uniformBatch } from '../src/dp-sgd/samplers';
import { seededFill } from './fixtures';

const spec: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 7 };

function toyData(n: number, seed: number): MemoryDataset {
  const rand = seededRandom(seed);
  return new MemoryDataset(
    Array.from({ length: n }, (_, i) => {
      const label = i % 2;
      const x = Float32Array.from({ length: 16 * 16 }, () => rand() * 0.3 + (label ? 0.3 : 0));
      return { x, label };
    }),
  );
}

/** Each record a batch of `per` slices (a patient's). */
async function records(data: MemoryDataset, per: number): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of data.batches(per)) out.push(b);
  return out;
}

beforeAll(async () => {
  await activateBackend(['cpu']);
});

describe('DP-SGD samplers (CSPRNG words in, record indices out)', () => {
  it('Poisson takes each record with probability q; uniform takes exactly B distinct records', () => {
    const fill = seededFill(1);
    let total = 0;
    for (let i = 0; i < 200; i++) total += poissonBatch(1000, 0.05, fill).length;
    // Mean 50 per batch; the mean of 200 batches has std √(1000·0.05·0.95/200) ≈ 0.49.
    expect(Math.abs(total / 200 - 50)).toBeLessThan(2.5);
    const picked = uniformBatch(100, 30, fill);
    expect(new Set(picked).size).toBe(30);
    expect(picked.every((i) => i >= 0 && i < 100)).toBe(true);
    expect(() => uniformBatch(10, 11, fill)).toThrow(/1 to 10 records/);
    expect(() => poissonBatch(10, 0, fill)).toThrow(/sampling probability/);
  });
});

describe('NoisedGradient (clip, integer grid, discrete Gaussian noise)', () => {
  it('without noise gives Σ clip(g_i)/B of the records\u2019 own gradients, to the grid\u2019s resolution', async () => {
    const engine = createModel(spec) as LayersEngine;
    const recs = await records(toyData(24, 3), 3);
    const per = engine.perRecordGradients(recs);
    const clip = per.map((p) => p.norm).sort((a, b) => a - b)[Math.floor(per.length / 2)]!;
    const sizes = per[0]!.gradient.map((g) => g.length);
    const noised = new NoisedGradient(sizes, { clip, noiseMultiplier: 0 });
    for (const p of per) noised.add(p.gradient, p.norm);
    const got = noised.result(per.length);
    const expected = sizes.map((n, t) => {
      const e = new Float64Array(n);
      for (const p of per) {
        const f = Math.min(1, clip / p.norm) / per.length;
        for (let k = 0; k < n; k++) e[k]! += p.gradient[t]![k]! * f;
      }
      return e;
    });
    const diff = Math.sqrt(got.reduce((s, g, t) => s + g.reduce((a, v, k) => a + (v - expected[t]![k]!) ** 2, 0), 0));
    const size = Math.sqrt(expected.reduce((s, e) => s + e.reduce((a, v) => a + v * v, 0), 0));
    // Truncation moves each coordinate by < 1 grid unit (C/bound ≈ C/2^14 here): far below 1 %.
    expect(diff / size).toBeLessThan(1e-2);
    // And the clip holds: no record adds more than C.
    expect(size).toBeLessThanOrEqual(clip + 1e-9);
    engine.dispose();
  });

  it('adds noise of std σ·C per coordinate to the sum (statistical test, seeded CSPRNG words)', () => {
    const sizes = [20_000];
    const noised = new NoisedGradient(sizes, { clip: 0.5, noiseMultiplier: 1.5, random: seededFill(9) });
    // Zero gradients: what comes out is the noise alone, ÷ B.
    for (let i = 0; i < 4; i++) noised.add([new Float64Array(20_000)], 0);
    const g = noised.result(4)[0]!;
    const sum = Array.from(g, (v) => v * 4);
    const mean = sum.reduce((a, b) => a + b, 0) / sum.length;
    const std = Math.sqrt(sum.reduce((a, v) => a + (v - mean) ** 2, 0) / (sum.length - 1));
    // σ·C = 0.75; the sample std of 20,000 draws is within 2 % with overwhelming probability.
    expect(Math.abs(std / 0.75 - 1)).toBeLessThan(0.02);
    expect(Math.abs(mean)).toBeLessThan((5 * 0.75) / Math.sqrt(sum.length));
  });

  describe("'mean' reduction (deepee: G = (1/B)·Σ clip_C(g_i/B) + N(0, (σC/B)²), docs/specs/deepee.md §4.2)", () => {
    /** B synthetic record gradients in two tensors, some above and some below B·C. */
    const gradients = (count: number, seed: number) => {
      const rand = seededRandom(seed);
      return Array.from({ length: count }, (_, i) => {
        const g = [Float64Array.from({ length: 30 }, () => (rand() - 0.5) * (i + 1)), Float64Array.from({ length: 7 }, () => (rand() - 0.5) * (i + 1))];
        return { g, norm: Math.sqrt(g.reduce((s, t) => s + t.reduce((a, v) => a + v * v, 0), 0)) };
      });
    };

    it('without noise gives deepee\u2019s mean of clip_C(g_i/B), to the grid\u2019s resolution, and equals the textbook form at C\u2032 = B·C divided by B', () => {
      const B = 5;
      const C = 0.4;
      const per = gradients(B, 11);
      expect(per.some((p) => p.norm / B > C) && per.some((p) => p.norm / B < C)).toBe(true);
      const mean = new NoisedGradient([30, 7], { clip: C, noiseMultiplier: 0, reduction: 'mean', batch: B });
      const textbook = new NoisedGradient([30, 7], { clip: B * C, noiseMultiplier: 0 });
      for (const p of per) {
        mean.add(p.g, p.norm);
        textbook.add(p.g, p.norm);
      }
      const got = mean.result(B);
      const viaTextbook = textbook.result(B);
      // deepee literally: g_i/B, clipped to C, averaged over the B replicas.
      const expected = [30, 7].map((n, t) => {
        const e = new Float64Array(n);
        for (const p of per) {
          const f = Math.min(1, C / (p.norm / B));
          for (let k = 0; k < n; k++) e[k]! += ((p.g[t]![k]! / B) * f) / B;
        }
        return e;
      });
      const norm = (x: Float64Array[]) => Math.sqrt(x.reduce((s, v) => s + v.reduce((a, u) => a + u * u, 0), 0));
      const diff = norm(got.map((g, t) => g.map((v, k) => v - expected[t]![k]!)));
      expect(diff / norm(expected)).toBeLessThan(1e-3);
      // Exactly the textbook G at clip B·C, scaled by 1/B (same grid, same integers).
      got.forEach((g, t) => g.forEach((v, k) => expect(v).toBeCloseTo(viaTextbook[t]![k]! / B, 15)));
      // Each record adds at most C/B to the mean.
      expect(norm(got)).toBeLessThanOrEqual(C + 1e-12);
    });

    it('adds noise of std σ·C/B per coordinate to G (statistical test), and needs B', () => {
      const B = 4;
      const noised = new NoisedGradient([20_000], { clip: 0.5, noiseMultiplier: 1.5, random: seededFill(10), reduction: 'mean', batch: B });
      for (let i = 0; i < B; i++) noised.add([new Float64Array(20_000)], 0);
      const g = Array.from(noised.result(B)[0]!);
      const mean = g.reduce((a, b) => a + b, 0) / g.length;
      const std = Math.sqrt(g.reduce((a, v) => a + (v - mean) ** 2, 0) / (g.length - 1));
      // σ·C/B = 1.5·0.5/4 = 0.1875.
      expect(Math.abs(std / 0.1875 - 1)).toBeLessThan(0.02);
      expect(() => new NoisedGradient([3], { clip: 1, noiseMultiplier: 1, reduction: 'mean' })).toThrow(/batch size B/);
      const other = new NoisedGradient([3], { clip: 1, noiseMultiplier: 0, reduction: 'mean', batch: 4 });
      expect(() => other.result(5)).toThrow(/B = 4/);
    });
  });
});

describe('DP-SGD epochs in the engine', () => {
  it('runs ⌈records/B⌉ noised steps per epoch and moves the model; refuses a model whose layers mix examples, naming the layer', async () => {
    const engine = createModel(spec);
    const before = engine.getWeights();
    const data = toyData(40, 5);
    const it = engine.trainEpoch(data, { epoch: 1, batchSize: 8, learningRate: 0.01, dpSgd: { noiseMultiplier: 1, clip: 1, sampling: 'poisson', batchRecords: 8, random: seededFill(2) } });
    let r = await it.next();
    let steps = 0;
    while (!r.done) {
      steps += 1;
      r = await it.next();
    }
    expect(steps).toBe(5);
    expect(r.value.steps).toBe(5);
    const after = engine.getWeights();
    expect(after.some((t, i) => t.values.some((v, k) => v !== before[i]!.values[k]))).toBe(true);
    engine.dispose();

    for (const kind of ['vgg-slim', 'densenet'] as const) {
      const mixed = createModel({ ...spec, kind, inputSize: 32 });
      const run = mixed.trainEpoch(toyData(4, 6), { epoch: 1, batchSize: 2, learningRate: 0.01, dpSgd: { noiseMultiplier: 1, clip: 1, sampling: 'uniform', batchRecords: 2 } });
      await expect(run.next()).rejects.toThrow(new RegExp(`DP-SGD needs layers that treat each example on its own; ${kind} has \\d+ that do not, first "[^"]+" \\((BatchNormalization|FedwardBatchStatNorm)`));
      mixed.dispose();
    }
  }, 120_000);

  it("uniform sampling with deepee's 'mean' reduction: one step moves the model by exactly 1/B of the textbook step at clip B·C", async () => {
    // 8 records, B = 8: one step that takes every record; no noise, plain SGD without weight decay.
    const step = async (reduction: 'sum' | 'mean', clip: number) => {
      const engine = createModel(spec);
      const before = engine.getWeights();
      const it = engine.trainEpoch(toyData(8, 5), {
        epoch: 1,
        batchSize: 8,
        learningRate: 0.5,
        optimizer: 'sgd',
        weightDecay: 0,
        dpSgd: { noiseMultiplier: 0, clip, sampling: 'uniform', batchRecords: 8, reduction, random: seededFill(4), path: 'reference' },
      });
      let r = await it.next();
      while (!r.done) r = await it.next();
      const moved = engine.getWeights().map((t, i) => Float64Array.from(t.values, (v, k) => v - before[i]!.values[k]!));
      engine.dispose();
      return { steps: r.value.steps, moved };
    };
    const C = 0.25;
    const mean = await step('mean', C);
    const textbook = await step('sum', 8 * C);
    expect(mean.steps).toBe(1);
    const norm = (x: Float64Array[]) => Math.sqrt(x.reduce((s, v) => s + v.reduce((a, u) => a + u * u, 0), 0));
    expect(norm(mean.moved)).toBeGreaterThan(0);
    const diff = norm(mean.moved.map((m, t) => m.map((v, k) => v - textbook.moved[t]![k]! / 8)));
    // float32 weights: the difference is rounding only.
    expect(diff / norm(mean.moved)).toBeLessThan(1e-3);
    // And it is not the textbook step at C (the records' gradient norms, 1.3 to 1.9, lie between C and B·C here).
    const plain = await step('sum', C);
    const apart = norm(mean.moved.map((m, t) => m.map((v, k) => v - plain.moved[t]![k]!)));
    expect(apart / norm(mean.moved)).toBeGreaterThan(0.1);
  }, 120_000);
});
