import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { GridContribution, discreteGaussianParameters, encodeOnGrid, gridFor, gridNormFloor, updateDelta } from '@fedward/privacy';
import type { NamedTensor } from '@fedward/protocol';
import { counterFill } from './aggregation-inputs';
import {
  createDpAggregator,
  createPlainAggregator,
  decodeServerState,
  encodeServerState,
  lowerMedian,
  medianClip,
  type ClipRule,
  type ServerState,
} from '../src/dp';

/** A model of two tensors (d/2 values each). */
const model = (d: number, fill: (k: number) => number): NamedTensor[] => [
  { name: 'a/kernel', shape: [d / 2], values: Float32Array.from({ length: d / 2 }, (_, k) => fill(k)) },
  { name: 'a/bias', shape: [d / 2], values: Float32Array.from({ length: d / 2 }, (_, k) => fill(k + d / 2)) },
];
const flat = (w: readonly NamedTensor[]) => w.flatMap((t) => Array.from(t.values));
const norm = (v: readonly number[]) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
/** An update Δ with exactly the given L2 norm on a zero global model of size d. */
const withNorm = (d: number, n: number, j = 0) => {
  const raw = Array.from({ length: d }, (_, k) => Math.sin(k * 0.37 + j));
  const r = norm(raw);
  return model(d, (k) => (raw[k]! * n) / r);
};

describe('clip rules', () => {
  it('takes the LOWER median for an even count (torch.median) and caps it at 25', () => {
    expect(lowerMedian([4, 1, 3, 2])).toBe(2);
    expect(lowerMedian([5, 1, 3])).toBe(3);
    expect(lowerMedian([7])).toBe(7);
    expect(medianClip([4, 1, 3, 2])).toBe(2);
    expect(medianClip([30, 40, 50])).toBe(25);
    expect(medianClip([30, 40, 50], 100)).toBe(40);
  });

});

describe('the integer grid', () => {
  it('puts C on a power of two ≥ 256·√d, between 2^12 and 2^22', () => {
    expect(gridFor(1, 1282)).toMatchObject({ bound: 2 ** 14, scale: 2 ** 14, dimension: 1282 });
    expect(gridFor(0.5, 10_000_000).bound).toBe(2 ** 20);
    expect(gridFor(0.5, 10_000_000).scale).toBe(2 ** 21);
    expect(gridFor(3, 4).bound).toBe(2 ** 12);
    expect(gridFor(3, 1e12).bound).toBe(2 ** 22);
    expect(() => gridFor(0, 10)).toThrow(/positive/);
  });

  it('truncates towards zero, so every encoded update is within the bound, checked exactly', () => {
    const grid = gridFor(1, 1000);
    for (let j = 0; j < 50; j++) {
      const d = Float64Array.from({ length: 1000 }, (_, k) => Math.sin(k * 1.7 + j) * (j + 1));
      const n = Math.sqrt(d.reduce((s, x) => s + x * x, 0));
      const [x] = encodeOnGrid([d], n, grid);
      let sq = 0;
      for (let k = 0; k < 1000; k++) {
        expect(Number.isInteger(x![k])).toBe(true);
        expect(Math.abs(x![k]!)).toBeLessThanOrEqual(Math.abs(d[k]! * grid.scale * Math.min(1, 1 / n)) + 1e-9);
        sq += x![k]! ** 2;
      }
      expect(sq).toBeLessThanOrEqual(grid.bound ** 2);
      expect(gridNormFloor([x!])).toBe(Math.floor(Math.sqrt(sq)));
    }
    // Exactly at the bound, along one axis: the float scaling cannot push it past.
    const axis = new Float64Array(1000);
    axis[3] = 1;
    expect(encodeOnGrid([axis], 1, grid)[0]![3]).toBe(grid.bound);
  });
});

describe('DP aggregation: what a round releases', () => {
  const RELEASE_KEYS = ['clip', 'clipRule', 'grid', 'noiseMultiplier', 'noisedNormSum', 'private', 'probe', 'quantile', 'releases', 'sigma', 'strategy', 'tauEff', 'updates'];

  it('holds public settings and noised releases only: no norms, counts or noise norms', () => {
    const global = model(2, () => 0);
    for (const clipRule of [{ kind: 'fixed', clip: 2.5 }, { kind: 'median' }, { kind: 'quantile', initialClip: 1 }] satisfies ClipRule[]) {
      const agg = createDpAggregator({ global, z: 1, clipRule, normSumNoise: 1 });
      for (let j = 0; j < 20; j++) agg.add(withNorm(2, 2.5 + j));
      const { record } = agg.result();
      expect(Object.keys(record).sort()).toEqual(RELEASE_KEYS);
      expect(record.releases.map((r) => r.what)).toEqual(clipRule.kind === 'quantile' ? ['sum', 'count', 'norm-sum'] : ['sum', 'norm-sum']);
      expect(record.private).toBe(clipRule.kind !== 'median');
    }
  });

  it('σ on the mean is σ_grid/(scale·M) with σ_grid ≥ z·bound: z·C/M up to the integer variance', () => {
    const global = model(2, () => 0);
    for (const m of [20, 200]) {
      const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 2.5 } });
      for (let j = 0; j < m; j++) agg.add(withNorm(2, 2.5));
      const { record } = agg.result();
      expect(record.updates).toBe(m);
      const sum = record.releases[0]!;
      expect(sum.perUpdate).toBe(2 * record.grid.bound);
      expect(sum.sigma).toBeGreaterThanOrEqual(record.grid.bound);
      expect(sum.sigma / record.grid.bound - 1).toBeLessThan(1e-3);
      expect(record.sigma).toBeCloseTo(sum.sigma / (record.grid.scale * m), 15);
      expect(record.sigma / (2.5 / m) - 1).toBeLessThan(1e-3);
    }
  });

  it('a probe round releases only the noised norm sum and leaves the model where it was', () => {
    const global = model(4, (k) => k);
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 }, normSumNoise: 1, probe: true });
    for (let j = 0; j < 5; j++) agg.add(model(4, (k) => k + 0.3 * (j + 1)));
    const { record, weights } = agg.result();
    expect(record.releases.map((r) => r.what)).toEqual(['norm-sum']);
    expect(flat(weights)).toEqual(flat(global));
    expect(record.noisedNormSum).not.toBeNull();
    expect(() => createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 }, probe: true })).toThrow(/norm sum/);
  });

  it('rejects updates of the wrong size, non-finite ones, a second result, and FedNova without public τ̄ or step counts', () => {
    const global = model(4, () => 0);
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } });
    expect(() => agg.add(model(6, () => 0))).toThrow(/3 values, the model's "a\/kernel" has 2/);
    expect(() => agg.add(model(4, () => Number.NaN))).toThrow(/not finite/);
    agg.add(model(4, () => 0.1));
    agg.result();
    expect(() => agg.result()).toThrow(/already/);
    expect(() => createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 }, strategy: 'fednova' })).toThrow(/public step count/);
    const nova = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 }, strategy: 'fednova', publicSteps: 3 });
    expect(() => nova.add(model(4, () => 0.1))).toThrow(/step count/);
  });
});

describe('DP aggregation: the noise', () => {
  const d = 200_000;
  const m = 4;
  const z = 1.3;
  const g = (k: number) => Math.sin(k);
  const shifts = [0.002, -0.004, 0.001, 0.006];
  const updates = () => shifts.map((s, j) => model(d, (k) => g(k) + s * Math.cos(k * (j + 1))));
  const deltas = flat(model(d, g));

  /** The released aggregate minus the clipped mean (computed here independently, float64). */
  function measure(clipRule: ClipRule, expectedClip: (norms: number[]) => number, publicSteps?: number, taus?: number[]) {
    const global = model(d, g);
    const us = updates();
    const agg = createDpAggregator({ global, z, clipRule, strategy: taus ? 'fednova' : 'fedavg', ...(publicSteps && { publicSteps }) });
    us.forEach((u, j) => agg.add(u, { steps: taus?.[j] }));
    const { weights, record } = agg.result();
    const ds = us.map((u, j) => flat(u).map((v, k) => (v - deltas[k]!) / (taus?.[j] ?? 1)));
    const norms = ds.map(norm);
    const c = expectedClip(norms);
    const tauEff = publicSteps ?? 1;
    const mean = new Float64Array(d);
    ds.forEach((delta, j) => delta.forEach((v, k) => (mean[k]! += (tauEff * v * Math.min(1, c / norms[j]!)) / m)));
    const released = flat(weights);
    let sum = 0;
    let squares = 0;
    for (let k = 0; k < d; k++) {
      const noise = released[k]! - deltas[k]! - mean[k]!;
      sum += noise;
      squares += noise * noise;
    }
    return { record, c, std: Math.sqrt(squares / d - (sum / d) ** 2), mean: sum / d };
  }

  // The sample std of d draws has relative standard error 1/√(2d) ≈ 0.0016; allow 5 of them.
  // Truncation onto the grid moves each coordinate by < 1/(scale·M), far below σ here.
  const check = (r: ReturnType<typeof measure>, expectedStd: number) => {
    expect(r.record.sigma / expectedStd - 1).toBeLessThan(1e-3);
    expect(Math.abs(r.std / expectedStd - 1)).toBeLessThan(0.008);
    expect(Math.abs(r.mean)).toBeLessThan((5 * expectedStd) / Math.sqrt(d));
  };

  it('fixed rule: std z·C/M', () => {
    check(measure({ kind: 'fixed', clip: 0.8 }, () => 0.8), (z * 0.8) / m);
  });

  it('median rule (not private): std z·C/M with C the lower median of the norms', () => {
    const r = measure({ kind: 'median' }, (norms) => lowerMedian(norms));
    expect(r.record.clip).toBeCloseTo(r.c, 6);
    expect(r.record.private).toBe(false);
    check(r, (z * r.c) / m);
  });

  it('quantile rule: std z·C_t/M on the update; the count has its own release', () => {
    const r = measure({ kind: 'quantile', initialClip: 0.5, countNoise: 1 }, () => 0.5);
    check(r, (z * 0.5) / m);
    // σ_b = 1 on the integers: t = 2, u = 1, variance 2 (never below the requested σ²).
    expect(r.record.releases[1]).toEqual({ what: 'count', sigma: discreteGaussianParameters(1).sigma, perUpdate: 1 });
    expect(discreteGaussianParameters(1).sigma).toBeCloseTo(Math.SQRT2, 12);
  });

  it('FedNova: A = τ̄·(clipped mean of Δ/τ) + noise of std z·C·τ̄/M, τ̄ public', () => {
    const r = measure({ kind: 'fixed', clip: 0.1 }, () => 0.1, 4, [2, 4, 3, 7]);
    expect(r.record.tauEff).toBe(4);
    check(r, (z * 0.1 * 4) / m);
  });
});

describe('server strategies', () => {
  it('FedAdam: m ← 0.9m + 0.1A, v ← 0.99v + 0.01A², θ ← θ + η·m/(√v + 1e-9), across two rounds and a restart', () => {
    const eta = 0.01;
    const global0 = [{ name: 'w', shape: [2], values: Float32Array.of(1, 2) }];
    const step = (global: NamedTensor[], delta: number[], state: ServerState | null, dp: boolean) => {
      const strategy = { kind: 'fedadam' as const, learningRate: eta };
      const agg = dp ? createDpAggregator({ global, z: 0, clipRule: { kind: 'fixed', clip: 1 }, strategy, serverState: state }) : createPlainAggregator({ global, strategy, serverState: state });
      agg.add([{ name: 'w', shape: [2], values: Float32Array.from(delta, (x, k) => global[0]!.values[k]! + x) }]);
      return agg.result();
    };
    for (const dp of [true, false]) {
      // The DP path decodes A from the grid (C = 1: 2^12 units), within 1/4096 of the plain one.
      const digits = dp ? 3 : 7;
      // Round 1: A = (0.5, −0.2) → m = (0.05, −0.02), v = (0.0025, 0.0004), step = η·(1, −1).
      const r1 = step(global0, [0.5, -0.2], null, dp);
      expect(r1.serverState.adam!.m[0]!.values[0]).toBeCloseTo(0.05, digits);
      expect(r1.serverState.adam!.m[0]!.values[1]).toBeCloseTo(-0.02, digits);
      expect(r1.serverState.adam!.v[0]!.values[0]).toBeCloseTo(0.0025, digits + 2);
      expect(r1.weights[0]!.values[0]).toBeCloseTo(1 + eta, digits);
      expect(r1.weights[0]!.values[1]).toBeCloseTo(2 - eta, digits);
      // Restart between rounds: the state goes through its bytes.
      const restored = decodeServerState(encodeServerState(r1.serverState));
      // Round 2: A = (0.1, 0.1) → m = (0.055, −0.008), v = (0.002575, 0.000496).
      const r2 = step(r1.weights, [0.1, 0.1], restored, dp);
      expect(r2.serverState.adam!.m[0]!.values[0]).toBeCloseTo(0.055, digits);
      expect(r2.serverState.adam!.m[0]!.values[1]).toBeCloseTo(-0.008, digits);
      expect(r2.serverState.adam!.v[0]!.values[1]).toBeCloseTo(0.000496, digits + 2);
      expect(r2.weights[0]!.values[0]! - r1.weights[0]!.values[0]!).toBeCloseTo((eta * 0.055) / Math.sqrt(0.002575), digits - 1);
      expect(r2.weights[0]!.values[1]! - r1.weights[0]!.values[1]!).toBeCloseTo((eta * -0.008) / Math.sqrt(0.000496), digits - 1);
      expect(r2.serverState.rounds).toBe(2);
    }
  });

  it('FedNova: Δ_j/τ_j before clipping; A = τ_eff·mean (plain: mean τ_j; DP: the public τ̄)', () => {
    const global = model(2, () => 0);
    for (const dp of [true, false]) {
      const agg = dp ? createDpAggregator({ global, z: 0, clipRule: { kind: 'fixed', clip: 0.5 }, strategy: 'fednova', publicSteps: 3 }) : createPlainAggregator({ global, strategy: 'fednova' });
      agg.add(model(2, (k) => [2, 0][k]!), { steps: 2 }); // Δ/τ = (1, 0)
      agg.add(model(2, (k) => [0, 4][k]!), { steps: 4 }); // Δ/τ = (0, 1)
      const { weights, record } = agg.result();
      expect(record.tauEff).toBe(3);
      // DP: each normalised update clipped from 1 to 0.5 (exact on the grid), so A = 3·(0.25, 0.25); plain: 3·(0.5, 0.5).
      const a = dp ? 0.75 : 1.5;
      expect(flat(weights)).toEqual([a, a]);
    }
  });

  it('the plain aggregator: uniform by default, sample-weighted on request (= Fedward’s FedAvg)', () => {
    const global = model(2, () => 0);
    const uniform = createPlainAggregator({ global });
    const weighted = createPlainAggregator({ global, weighting: 'samples' });
    for (const agg of [uniform, weighted]) {
      agg.add(model(2, () => 1), { samples: 1 });
      agg.add(model(2, () => 4), { samples: 2 });
    }
    expect(flat(uniform.result().weights)).toEqual([2.5, 2.5]);
    expect(flat(weighted.result().weights)).toEqual([3, 3]);
  });
});

describe('quantile clipping over rounds', () => {
  /** Rounds of M updates whose norms are 1, 2, …, M (so the γ-quantile is ≈ γ·M). */
  function run(target: number, rounds: number, m = 100) {
    const d = 4;
    const global = model(d, () => 0);
    let state: ServerState | null = null;
    const clips: number[] = [];
    for (let t = 0; t < rounds; t++) {
      const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'quantile', initialClip: 5, targetQuantile: target, countNoise: m / 20 }, serverState: state });
      for (let j = 1; j <= m; j++) agg.add(withNorm(d, j, j));
      const r = agg.result();
      expect(r.record.quantile!.nextClip).toBe(r.serverState.clip);
      expect(r.record.quantile!.fraction).toBeGreaterThanOrEqual(0);
      expect(r.record.quantile!.fraction).toBeLessThanOrEqual(1);
      // Through bytes every round, as the server would.
      state = decodeServerState(encodeServerState(r.serverState));
      clips.push(r.record.clip);
    }
    return clips;
  }

  it('moves C from 5 towards the target quantile of the norms and stays there', () => {
    const median = run(0.5, 60);
    expect(median[0]).toBe(5);
    expect(median[10]!).toBeGreaterThan(5);
    // C grows by about e^{0.2·0.45} per round while b̃ ≈ 0.05 (≈ 25 rounds to 50), then settles near 50.
    const settled = median.slice(-10);
    for (const c of settled) {
      expect(c).toBeGreaterThan(35);
      expect(c).toBeLessThan(65);
    }
    const high = run(0.9, 60).slice(-10);
    for (const c of high) {
      expect(c).toBeGreaterThan(80);
      expect(c).toBeLessThan(100);
    }
  });

  it('restarts from the stored C_t, not the initial clip', () => {
    const global = model(2, () => 0);
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'quantile', initialClip: 0.5, countNoise: 1 }, serverState: { rounds: 7, clip: 3.25, adam: null } });
    agg.add(withNorm(2, 1));
    const r = agg.result();
    expect(r.record.clip).toBe(3.25);
    expect(r.serverState.rounds).toBe(8);
  });
});

describe('server state bytes', () => {
  it('round-trips rounds, clip and the Adam moments bit for bit', () => {
    const m = [
      { name: 'conv/kernel', shape: [2, 3], values: Float32Array.from({ length: 6 }, (_, k) => Math.fround(Math.PI * k - 1e-7)) },
      { name: 'conv/bias', shape: [3], values: Float32Array.of(-0, 1e-38, 3.4e38) },
    ];
    const v = m.map((t) => ({ ...t, values: t.values.map((x) => x * x) }));
    const state: ServerState = { rounds: 12, clip: 0.123456789012345, adam: { m, v } };
    const bytes = encodeServerState(state);
    const back = decodeServerState(Buffer.from(bytes)); // better-sqlite3 hands back a Buffer
    expect(back.rounds).toBe(12);
    expect(back.clip).toBe(0.123456789012345);
    expect(back.adam!.m.map((t) => [t.name, t.shape, Array.from(t.values)])).toEqual(m.map((t) => [t.name, t.shape, Array.from(t.values)]));
    expect(back.adam!.v.map((t) => Array.from(t.values))).toEqual(v.map((t) => Array.from(t.values)));
    expect(decodeServerState(encodeServerState({ rounds: 0, clip: null, adam: null }))).toEqual({ rounds: 0, clip: null, adam: null });
    expect(() => decodeServerState(new Uint8Array([1, 2, 3, 4, 0, 0, 0, 0]))).toThrow(/magic/);
    expect(() => decodeServerState(bytes.subarray(0, bytes.length - 4))).toThrow(/payload/);
  });

  it('is refused when its Adam moments do not match the model', () => {
    const state: ServerState = { rounds: 1, clip: null, adam: { m: model(4, () => 0), v: model(4, () => 0) } };
    expect(() => createDpAggregator({ global: model(6, () => 0), z: 1, clipRule: { kind: 'fixed', clip: 1 }, strategy: { kind: 'fedadam', learningRate: 0.1 }, serverState: state })).toThrow(/server state/);
  });
});

describe('memory', () => {
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;

  /** Adds `count` fresh updates and returns weak references to them (no strong one survives this frame). */
  function feed(agg: { add: (u: NamedTensor[]) => void }, count: number): WeakRef<NamedTensor[]>[] {
    const refs: WeakRef<NamedTensor[]>[] = [];
    for (let j = 0; j < count; j++) {
      const u = model(1000, (k) => Math.sin(k + j));
      refs.push(new WeakRef(u));
      agg.add(u);
    }
    return refs;
  }

  async function collected(make: () => { add: (u: NamedTensor[]) => void }, count: number): Promise<number> {
    const agg = make();
    const refs = feed(agg, count);
    // WeakRefs made in this job stay alive until it ends.
    await new Promise((r) => setImmediate(r));
    gc();
    return refs.filter((r) => r.deref() === undefined).length;
  }

  it('streaming rules and the plain aggregator keep no reference to an update after add()', async () => {
    const global = model(1000, () => 0);
    expect(await collected(() => createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } }), 20)).toBe(20);
    expect(await collected(() => createDpAggregator({ global, z: 1, clipRule: { kind: 'quantile', initialClip: 1, countNoise: 1 }, strategy: 'fedadam' }), 20)).toBe(20);
    expect(await collected(() => createPlainAggregator({ global, strategy: 'fedadam' }), 20)).toBe(20);
    // The median rule copies Δ_j (O(M·d)) but not the caller's arrays either.
    expect(await collected(() => createDpAggregator({ global, z: 1, clipRule: { kind: 'median' } }), 20)).toBe(20);
  });

  it('an update changed after add() does not change the result', () => {
    const global = model(4, () => 0);
    for (const clipRule of [{ kind: 'fixed', clip: 2 }, { kind: 'median' }] satisfies ClipRule[]) {
      const agg = createDpAggregator({ global, z: 0, clipRule });
      const u = model(4, () => 1);
      agg.add(u);
      u.forEach((t) => t.values.fill(100));
      // ‖Δ‖ = 2 = C: each coordinate is 1·2^12/2 = 2048 grid units, decoded exactly.
      expect(flat(agg.result().weights)).toEqual([1, 1, 1, 1]);
    }
  });
});

describe('secure aggregation input (addSum)', () => {
  it('the sum of hospitals\u2019 own grid contributions releases exactly what the server would have summed itself', () => {
    const d = 64;
    const global = model(d, (k) => Math.cos(k) / 10);
    // Norms on both sides of C, so the quantile count is neither 0 nor M.
    const updates = [0.2, 3, 0.7, 5, 1.1, 0.4].map((n, j) => withNorm(d, n, j).map((t, i) => ({ ...t, values: t.values.map((v, k) => v + global[i]!.values[k]!) })));
    const options = { global, z: 0.8, clipRule: { kind: 'quantile', initialClip: 1, countNoise: 1 } as ClipRule, normSumNoise: 2, strategy: 'fedadam' as const };
    const direct = createDpAggregator({ ...options, random: counterFill() });
    for (const u of updates) direct.add(u);
    const viaSum = createDpAggregator({ ...options, random: counterFill() });
    const { grid, shape } = viaSum.contribution!;
    const total = new GridContribution(shape, grid);
    for (const hospital of [updates.slice(0, 2), updates.slice(2, 4), updates.slice(4)]) {
      const own = new GridContribution(shape, grid);
      for (const u of hospital) {
        const { delta, norm: n } = updateDelta(u, global);
        own.addDelta(delta, n);
      }
      total.addFlat(own.toFlat(), own.updates);
    }
    viaSum.addSum(total.toFlat(), total.updates);
    const a = direct.result();
    const b = viaSum.result();
    expect(b.record.updates).toBe(6);
    expect(flat(b.weights)).toEqual(flat(a.weights));
    expect(b.record.quantile).toEqual(a.record.quantile);
    expect(b.record.noisedNormSum).toBe(a.record.noisedNormSum);
  });

  it('refuses a sum under the median rule and a malformed sum', () => {
    const global = model(4, () => 0);
    expect(() => createDpAggregator({ global, z: 1, clipRule: { kind: 'median' } }).addSum(new Float64Array(4), 1)).toThrow(/median/);
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } });
    expect(() => agg.addSum(new Float64Array(5), 1)).toThrow(/4 values/);
    expect(() => agg.addSum(Float64Array.from([0.5, 0, 0, 0]), 1)).toThrow(/not an integer/);
  });
});
