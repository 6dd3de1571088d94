import { describe, expect, it } from 'vitest';
import type { NamedTensor } from '@fedward/protocol';
import { createDpAggregator } from '../src/dp';

/** DP-FedAvg with a fixed clip: uniform average of clipped updates, noise z·C/M, θ ← θ + A. */
const dpFedAvg = (global: readonly NamedTensor[], clip: number, z: number) =>
  createDpAggregator({ global, z, clipRule: { kind: 'fixed', clip }, strategy: 'fedavg' });

const model = (d: number, fill: (k: number) => number): NamedTensor[] => [
  { name: 'a/kernel', shape: [d / 2], values: Float32Array.from({ length: d / 2 }, (_, k) => fill(k)) },
  { name: 'a/bias', shape: [d / 2], values: Float32Array.from({ length: d / 2 }, (_, k) => fill(k + d / 2)) },
];
const flat = (w: NamedTensor[]) => w.flatMap((t) => Array.from(t.values));
const norm = (v: number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));

describe('DP-FedAvg aggregation', () => {
  it('clips each update to C, averages uniformly, and reports the raw norms', () => {
    const global = model(4, () => 0.5);
    const acc = dpFedAvg(global, 1, 0);
    acc.add(model(4, (k) => 0.5 + [3, 4, 0, 0][k]!)); // ‖Δ‖ = 5 → scaled to 1
    acc.add(model(4, (k) => 0.5 + [0, 0, 0.3, 0.4][k]!)); // ‖Δ‖ = 0.5 → untouched
    const { weights, record } = acc.result();
    const delta = flat(weights).map((v) => v - 0.5);
    [0.3, 0.4, 0.15, 0.2].forEach((want, k) => expect(delta[k]).toBeCloseTo(want, 6));
    expect(record.normSum).toBeCloseTo(5.5, 5);
    expect(record.clipped).toBe(1);
    expect(record.aggregateNorm).toBeCloseTo(norm([0.3, 0.4, 0.15, 0.2]), 6);
    expect(record.noiseNorm).toBe(0);
  });

  it('gives σ_avg = z·C/M: C/20 with 20 updates, C/200 with 200 (the spec’s VN = 1 and VN = 10 cases)', () => {
    const global = model(2, () => 0);
    for (const m of [20, 200]) {
      const acc = dpFedAvg(global, 2.5, 1);
      for (let j = 0; j < m; j++) acc.add(model(2, () => 0.01 * j));
      expect(acc.result().record.sigma).toBeCloseTo(2.5 / m, 12);
    }
  });

  it('adds zero-mean noise whose measured std is z·C/M to the clipped mean', () => {
    const d = 400_000;
    const z = 1.3;
    const c = 0.8;
    const m = 4;
    const global = model(d, (k) => Math.sin(k));
    const acc = dpFedAvg(global, c, z);
    const updates = [0.1, -0.2, 0.05, 0.3].map((shift, j) => model(d, (k) => Math.sin(k) + shift * Math.cos(k * (j + 1))));
    updates.forEach((u) => acc.add(u));
    const { weights, record } = acc.result();
    // The clipped mean, computed independently here in float64.
    const g = flat(global);
    const mean = new Float64Array(d);
    for (const u of updates) {
      const delta = flat(u).map((v, k) => v - g[k]!);
      const scale = Math.min(1, c / norm(delta));
      delta.forEach((v, k) => (mean[k]! += (v * scale) / m));
    }
    const released = flat(weights);
    let sum = 0;
    let squares = 0;
    for (let k = 0; k < d; k++) {
      const noise = released[k]! - g[k]! - mean[k]!;
      sum += noise;
      squares += noise * noise;
    }
    const expectedStd = (z * c) / m;
    const std = Math.sqrt(squares / d - (sum / d) ** 2);
    // The sample std of d Gaussian draws has relative standard error 1/√(2d) ≈ 0.0011; allow ~5 of them.
    expect(Math.abs(std / expectedStd - 1)).toBeLessThan(0.006);
    expect(Math.abs(sum / d)).toBeLessThan((5 * expectedStd) / Math.sqrt(d));
    expect(record.sigma).toBeCloseTo(expectedStd, 12);
    expect(record.noiseNorm / Math.sqrt(d)).toBeCloseTo(expectedStd, 2);
  });
});
