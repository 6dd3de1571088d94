import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import type { NamedTensor } from '@fedward/protocol';
import {
  createDpAggregator,
  createPlainAggregator,
  decodeServerState,
  encodeServerState,
  lowerMedian,
  medianClip,
  quantileUpdateNoiseMultiplier,
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

  it('z_Δ = (z⁻² − (2σ_b)⁻²)^(−1/2), and refuses 2σ_b ≤ z', () => {
    expect(quantileUpdateNoiseMultiplier(1, 5)).toBeCloseTo(1 / Math.sqrt(1 - 1 / 100), 14);
    expect(quantileUpdateNoiseMultiplier(1, 1)).toBeCloseTo(2 / Math.sqrt(3), 14);
    expect(quantileUpdateNoiseMultiplier(0, 0)).toBe(0);
    // Composing z_Δ with the count's 2σ_b gives back z.
    const z = 0.8;
    const zd = quantileUpdateNoiseMultiplier(z, 0.7);
    expect((zd ** -2 + (2 * 0.7) ** -2) ** -0.5).toBeCloseTo(z, 12);
    expect(() => quantileUpdateNoiseMultiplier(1, 0.5)).toThrow(/must exceed z\/2/);
    expect(() => createDpAggregator({ global: model(2, () => 0), z: 2, clipRule: { kind: 'quantile', initialClip: 1, countNoise: 0.9 } })).toThrow(/σ_b/);
  });
});

describe('DP aggregation: structure (z = 0 or σ only)', () => {
  it('σ_avg = C/20 with N = 20, VN = 1 and C/200 with VN = 10 (z = 1)', () => {
    const global = model(2, () => 0);
    for (const m of [20, 200]) {
      for (const rule of [{ kind: 'fixed', clip: 2.5 }, { kind: 'median' }] satisfies ClipRule[]) {
        const agg = createDpAggregator({ global, z: 1, clipRule: rule });
        for (let j = 0; j < m; j++) agg.add(withNorm(2, 2.5));
        const { record } = agg.result();
        expect(record.clip).toBeCloseTo(2.5, 6);
        expect(record.sigma).toBeCloseTo(record.clip / m, 12);
        expect(record.updates).toBe(m);
      }
    }
  });

  it('median rule: C = min(lower median of the raw norms, 25), clips to it, and is marked leaking', () => {
    const d = 8;
    const global = model(d, () => 0.5);
    const shift = (u: NamedTensor[]) => u.map((t) => ({ ...t, values: t.values.map((v) => v + 0.5) }));
    const agg = createDpAggregator({ global, z: 0, clipRule: { kind: 'median' } });
    const norms = [1, 4, 2, 3];
    norms.forEach((n, j) => agg.add(shift(withNorm(d, n, j))));
    const { weights, record } = agg.result();
    expect(record.clip).toBeCloseTo(2, 5);
    expect(record.clipped).toBe(2);
    expect(record.leaking).toBe(true);
    expect(record.clipRule).toBe('median');
    expect(record.normSum).toBeCloseTo(10, 4);
    // The clipped mean, independently.
    const mean = new Array<number>(d).fill(0);
    norms.forEach((n, j) => flat(withNorm(d, n, j)).forEach((v, k) => (mean[k]! += (v * Math.min(1, 2 / n)) / 4)));
    flat(weights).forEach((v, k) => expect(v - 0.5).toBeCloseTo(mean[k]!, 5));
    expect(record.aggregateNorm).toBeCloseTo(norm(mean), 5);
    const big = createDpAggregator({ global, z: 0, clipRule: { kind: 'median' } });
    [30, 40, 50].forEach((n, j) => big.add(shift(withNorm(d, n, j))));
    expect(big.result().record.clip).toBe(25);
  });

  it('fixed and quantile rules are private (leaking: false) and report λ = ‖noise‖/Σ‖Δ‖', () => {
    const global = model(1000, () => 0);
    for (const clipRule of [{ kind: 'fixed', clip: 1 }, { kind: 'quantile', initialClip: 1, countNoise: 2 }] satisfies ClipRule[]) {
      const agg = createDpAggregator({ global, z: 1, clipRule });
      for (let j = 0; j < 4; j++) agg.add(withNorm(1000, 0.5 + j, j));
      const { record } = agg.result();
      expect(record.leaking).toBe(false);
      expect(record.lambda).toBeCloseTo(record.noiseNorm / record.normSum, 12);
      expect(record.normSum).toBeCloseTo(0.5 + 1.5 + 2.5 + 3.5, 5);
    }
  });

  it('rejects updates of the wrong size, a second result, and FedNova without step counts', () => {
    const global = model(4, () => 0);
    const agg = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 } });
    expect(() => agg.add(model(6, () => 0))).toThrow(/values/);
    expect(() => agg.result()).toThrow(/no update/);
    const nova = createDpAggregator({ global, z: 1, clipRule: { kind: 'fixed', clip: 1 }, strategy: 'fednova' });
    expect(() => nova.add(model(4, () => 1))).toThrow(/info\.steps/);
    const once = createDpAggregator({ global, z: 0, clipRule: { kind: 'fixed', clip: 1 } });
    once.add(model(4, () => 1));
    once.result();
    expect(() => once.result()).toThrow(/already/);
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
  function measure(clipRule: ClipRule, expectedClip: (norms: number[]) => number, tauEff = 1, taus?: number[]) {
    const global = model(d, g);
    const us = updates();
    const agg = createDpAggregator({ global, z, clipRule, strategy: taus ? 'fednova' : 'fedavg' });
    us.forEach((u, j) => agg.add(u, { steps: taus?.[j] }));
    const { weights, record } = agg.result();
    const ds = us.map((u, j) => flat(u).map((v, k) => (v - deltas[k]!) / (taus?.[j] ?? 1)));
    const norms = ds.map(norm);
    const c = expectedClip(norms);
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

  // The sample std of d Gaussian draws has relative standard error 1/√(2d) ≈ 0.0016; allow 5 of them
  // (float32 rounding of the released weights adds ~1e-8, far below σ here).
  const check = (r: ReturnType<typeof measure>, expectedStd: number) => {
    expect(r.record.sigma).toBeCloseTo(expectedStd, 12);
    expect(Math.abs(r.std / expectedStd - 1)).toBeLessThan(0.008);
    expect(Math.abs(r.mean)).toBeLessThan((5 * expectedStd) / Math.sqrt(d));
    expect(r.record.noiseNorm / Math.sqrt(d) / expectedStd).toBeCloseTo(1, 1);
  };

  it('fixed rule: std z·C/M', () => {
    const r = measure({ kind: 'fixed', clip: 0.8 }, () => 0.8);
    check(r, (z * 0.8) / m);
  });

  it('median rule: std z·C/M with C the lower median of the norms', () => {
    const r = measure({ kind: 'median' }, (norms) => lowerMedian(norms));
    expect(r.record.clip).toBeCloseTo(r.c, 6);
    check(r, (z * r.c) / m);
  });

  it('quantile rule: std z_Δ·C_t/M', () => {
    const r = measure({ kind: 'quantile', initialClip: 0.5, countNoise: 1 }, () => 0.5);
    check(r, (quantileUpdateNoiseMultiplier(z, 1) * 0.5) / m);
    expect(r.record.updateNoiseMultiplier).toBeCloseTo((2 * z) / Math.sqrt(4 - z * z), 10);
  });

  it('FedNova: A = τ_eff·(clipped mean of Δ/τ) + noise of std z·C·τ_eff/M', () => {
    const taus = [2, 4, 3, 7];
    const tauEff = 4;
    const r = measure({ kind: 'fixed', clip: 0.1 }, () => 0.1, tauEff, taus);
    expect(r.record.tauEff).toBe(tauEff);
    check(r, (z * 0.1 * tauEff) / m);
  });
});

describe('server strategies', () => {
  it('FedAdam: m ← 0.9m + 0.1A, v ← 0.99v + 0.01A², θ ← θ + η·m/(√v + 1e-9), across two rounds and a restart', () => {
    const eta = 0.01;
    const global0 = [{ name: 'w', shape: [2], values: Float32Array.of(1, 2) }];
    const step = (global: NamedTensor[], delta: number[], state: ServerState | null, dp: boolean) => {
      const strategy = { kind: 'fedadam' as const, learningRate: eta };
      const agg = dp ? createDpAggregator({ global, z: 0, clipRule: { kind: 'fixed', clip: 100 }, strategy, serverState: state }) : createPlainAggregator({ global, strategy, serverState: state });
      agg.add([{ name: 'w', shape: [2], values: Float32Array.from(delta, (x, k) => global[0]!.values[k]! + x) }]);
      return agg.result();
    };
    for (const dp of [true, false]) {
      // Round 1: A = (0.5, −0.2) → m = (0.05, −0.02), v = (0.0025, 0.0004), step = η·(1, −1).
      const r1 = step(global0, [0.5, -0.2], null, dp);
      expect(r1.serverState.adam!.m[0]!.values[0]).toBeCloseTo(0.05, 7);
      expect(r1.serverState.adam!.m[0]!.values[1]).toBeCloseTo(-0.02, 7);
      expect(r1.serverState.adam!.v[0]!.values[0]).toBeCloseTo(0.0025, 9);
      expect(r1.weights[0]!.values[0]).toBeCloseTo(1 + eta, 6);
      expect(r1.weights[0]!.values[1]).toBeCloseTo(2 - eta, 6);
      // Restart between rounds: the state goes through its bytes.
      const restored = decodeServerState(encodeServerState(r1.serverState));
      // Round 2: A = (0.1, 0.1) → m = (0.055, −0.008), v = (0.002575, 0.000496).
      const r2 = step(r1.weights, [0.1, 0.1], restored, dp);
      expect(r2.serverState.adam!.m[0]!.values[0]).toBeCloseTo(0.055, 7);
      expect(r2.serverState.adam!.m[0]!.values[1]).toBeCloseTo(-0.008, 7);
      expect(r2.serverState.adam!.v[0]!.values[1]).toBeCloseTo(0.000496, 9);
      expect(r2.weights[0]!.values[0]! - r1.weights[0]!.values[0]!).toBeCloseTo((eta * 0.055) / Math.sqrt(0.002575), 5);
      expect(r2.weights[0]!.values[1]! - r1.weights[0]!.values[1]!).toBeCloseTo((eta * -0.008) / Math.sqrt(0.000496), 5);
      expect(r2.serverState.rounds).toBe(2);
    }
  });

  it('FedNova: Δ_j/τ_j before norms and clipping, τ_eff = mean τ_j, A = τ_eff·mean', () => {
    const global = model(2, () => 0);
    for (const dp of [true, false]) {
      const agg = dp ? createDpAggregator({ global, z: 0, clipRule: { kind: 'fixed', clip: 0.5 }, strategy: 'fednova' }) : createPlainAggregator({ global, strategy: 'fednova' });
      agg.add(model(2, (k) => [2, 0][k]!), { steps: 2 }); // Δ/τ = (1, 0)
      agg.add(model(2, (k) => [0, 4][k]!), { steps: 4 }); // Δ/τ = (0, 1)
      const { weights, record } = agg.result();
      expect(record.tauEff).toBe(3);
      expect(record.normSum).toBeCloseTo(2 * 3, 12);
      // DP: each normalised update clipped from 1 to 0.5, so A = 3·(0.25, 0.25); plain: 3·(0.5, 0.5).
      const a = dp ? 0.75 : 1.5;
      expect(flat(weights)).toEqual([a, a]);
      if ('clipped' in record) expect(record.clipped).toBe(2);
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
      expect(r.record.nextClip).toBe(r.serverState.clip);
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
    for (const clipRule of [{ kind: 'fixed', clip: 10 }, { kind: 'median' }] satisfies ClipRule[]) {
      const agg = createDpAggregator({ global, z: 0, clipRule });
      const u = model(4, () => 1);
      agg.add(u);
      u.forEach((t) => t.values.fill(100));
      expect(flat(agg.result().weights)).toEqual([1, 1, 1, 1]);
    }
  });
});
