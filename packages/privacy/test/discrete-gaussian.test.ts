import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  DISCRETE_GAUSSIAN_MAX_SIGMA,
  PrivacyLedger,
  addDiscreteGaussianNoise,
  checkBudget,
  computeDelta,
  computeEpsilon,
  discreteGaussianNoise,
  discreteGaussianParameters,
  discreteGaussianRounds,
  discreteGaussianSample,
  gaussianRounds,
  maxRoundsWithinBudget,
  ndtr,
  parseDpEvent,
  type DiscreteGaussianOptions,
  type DpEvent,
  type RandomFill,
} from "../src/index";
import { inverseEBits } from "../src/discrete-gaussian";

// ---------------------------------------------------------------------------------------------
// helpers
// ---------------------------------------------------------------------------------------------

/** A deterministic stream of 32-bit words (xorshift128), for reproducibility tests only. */
function xorshiftFill(seed: number): RandomFill {
  let x = seed | 0 || 1;
  let y = 362436069;
  let z = 521288629;
  let w = 88675123;
  return (buffer) => {
    for (let i = 0; i < buffer.length; i++) {
      const t = x ^ (x << 11);
      x = y;
      y = z;
      z = w;
      w = w ^ (w >>> 19) ^ (t ^ (t >>> 8));
      buffer[i] = w >>> 0;
    }
  };
}

/** Σ with Neumaier's compensation. */
function sum(values: Iterable<number>): number {
  let s = 0;
  let c = 0;
  for (const v of values) {
    const t = s + v;
    c += Math.abs(s) >= Math.abs(v) ? s - t + v : v - t + s;
    s = t;
  }
  return s + c;
}

/** The exact pmf of N_Z(0, S) on [−L, L] (L = 40√S + 10; the mass outside is below e^−800), by direct summation. */
function exactPmf(S: number): { lo: number; p: Float64Array } {
  const L = Math.ceil(40 * Math.sqrt(S)) + 10;
  const w = new Float64Array(2 * L + 1);
  for (let x = -L; x <= L; x++) w[x + L] = Math.exp(-(x * x) / (2 * S));
  const z = sum(w);
  for (let i = 0; i < w.length; i++) w[i]! /= z;
  return { lo: -L, p: w };
}

/** Upper p-quantile of χ²(k) by Wilson–Hilferty: k(1 − 2/(9k) + z_p √(2/(9k)))³. */
function chiSquareCritical(k: number, p: number): number {
  // z_p from the normal upper tail by bisection on ndtr.
  let lo = 0;
  let hi = 10;
  for (let i = 0; i < 100; i++) {
    const mid = (lo + hi) / 2;
    if (ndtr(-mid) > p) lo = mid;
    else hi = mid;
  }
  const z = (lo + hi) / 2;
  const a = 2 / (9 * k);
  return k * (1 - a + z * Math.sqrt(a)) ** 3;
}

interface ChiSquare {
  statistic: number;
  df: number;
  critical: number;
  bins: number;
}

/**
 * χ² goodness of fit of integer draws against bin probabilities: consecutive integers of
 * [lo, lo + p.length) are grouped greedily until a bin expects ≥ minExpected draws (tails end
 * up in the first and last bins, which also take any draw outside the range).
 */
function chiSquare(draws: Float64Array, lo: number, p: Float64Array, minExpected: number): ChiSquare {
  const n = draws.length;
  const binOf = new Int32Array(p.length);
  const expected: number[] = [];
  let acc = 0;
  for (let i = 0; i < p.length; i++) {
    binOf[i] = expected.length;
    acc += p[i]! * n;
    if (acc >= minExpected) {
      expected.push(acc);
      acc = 0;
    }
  }
  // The remainder joins the last full bin.
  if (acc > 0) {
    expected[expected.length - 1]! += acc;
    for (let i = p.length - 1; i >= 0 && binOf[i] === expected.length; i--) binOf[i] = expected.length - 1;
  }
  const observed = new Float64Array(expected.length);
  for (const x of draws) {
    const i = x - lo;
    const bin = i < 0 ? 0 : i >= p.length ? expected.length - 1 : binOf[i]!;
    observed[bin]!++;
  }
  let statistic = 0;
  for (let b = 0; b < expected.length; b++) statistic += (observed[b]! - expected[b]!) ** 2 / expected[b]!;
  const df = expected.length - 1;
  return { statistic, df, critical: chiSquareCritical(df, 1e-4), bins: expected.length };
}

function fitAgainstExactPmf(sigma: number, n: number, options?: DiscreteGaussianOptions, random?: RandomFill): ChiSquare {
  const { variance } = discreteGaussianParameters(sigma);
  const { lo, p } = exactPmf(variance);
  const draws = discreteGaussianNoise(n, sigma, random, options);
  return chiSquare(draws, lo, p, Math.max(50, n / 400));
}

function moments(x: Float64Array) {
  const n = x.length;
  const mean = sum(x) / n;
  let s2 = 0;
  for (const v of x) s2 += (v - mean) * (v - mean);
  let positive = 0;
  let negative = 0;
  for (const v of x) {
    if (v > 0) positive++;
    else if (v < 0) negative++;
  }
  return { mean, variance: s2 / (n - 1), positive, negative };
}

// ---------------------------------------------------------------------------------------------
// parameters and argument checks
// ---------------------------------------------------------------------------------------------

describe("discreteGaussianParameters", () => {
  it("uses t = ⌊σ⌋ + 1, u = ⌈σ²/t⌉ and S = t·u ≥ σ², exactly (checked in BigInt)", () => {
    expect(discreteGaussianParameters(3)).toEqual({ t: 4, u: 3, variance: 12, sigma: Math.sqrt(12) });
    expect(discreteGaussianParameters(17.5)).toEqual({ t: 18, u: 18, variance: 324, sigma: 18 });
    expect(discreteGaussianParameters(0.8)).toEqual({ t: 1, u: 1, variance: 1, sigma: 1 });
    const sigmas = [1e-9, 0.5, 1, 2.75, 10.1, 1000.3, 2 ** 14, 2 ** 20 + 0.5, 2 ** 22, 3.3e6, 2 ** 26 + 1, 2 ** 30, 123456789.123, 2 ** 40];
    for (const sigma of sigmas) {
      const { t, u, variance, sigma: used } = discreteGaussianParameters(sigma);
      expect(t).toBe(Math.floor(sigma) + 1);
      // σ² exactly: σ = N/2^e.
      let e = 0n;
      let scaled = sigma;
      while (!Number.isInteger(scaled)) {
        scaled *= 2;
        e += 1n;
      }
      const n2 = BigInt(scaled) ** 2n;
      const S = BigInt(t) * BigInt(u);
      // S ≥ σ² and S − σ² < t (u is the least integer with t·u ≥ σ²).
      expect(S << (2n * e)).toBeGreaterThanOrEqual(n2);
      expect((S - BigInt(t)) << (2n * e)).toBeLessThan(n2);
      expect(variance).toBe(Number(S));
      expect(used).toBeGreaterThanOrEqual(sigma);
    }
  });

  it("refuses σ ≤ 0, non-finite σ and σ > 2^40 with a RangeError", () => {
    for (const bad of [0, -1, NaN, Infinity, -Infinity, DISCRETE_GAUSSIAN_MAX_SIGMA * 2]) {
      expect(() => discreteGaussianParameters(bad)).toThrow(RangeError);
      expect(() => discreteGaussianSample(bad)).toThrow(RangeError);
      expect(() => discreteGaussianNoise(3, bad)).toThrow(RangeError);
      expect(() => addDiscreteGaussianNoise(new Float64Array(3), bad)).toThrow(RangeError);
    }
    expect(() => discreteGaussianSample(2 ** 41)).toThrow(/exceeds 2\^40/);
    expect(() => discreteGaussianNoise(-1, 1)).toThrow(RangeError);
    expect(() => discreteGaussianNoise(1.5, 1)).toThrow(RangeError);
    expect(() => discreteGaussianNoise(2, 1, undefined, { path: "fast" as never })).toThrow(RangeError);
    expect(discreteGaussianSample(DISCRETE_GAUSSIAN_MAX_SIGMA)).toSatisfy(Number.isInteger);
  });
});

// ---------------------------------------------------------------------------------------------
// distribution
// ---------------------------------------------------------------------------------------------

describe("discrete Gaussian: χ² against the exact pmf, 10⁶ draws each (p = 1e-4)", () => {
  for (const sigma of [0.8, 3, 17.5, 300, 5000]) {
    it(`σ = ${sigma} (S = ${discreteGaussianParameters(sigma).variance})`, () => {
      const r = fitAgainstExactPmf(sigma, 1_000_000);
      expect(r.bins).toBeGreaterThan(5);
      expect(r.statistic).toBeLessThan(r.critical);
    });
  }

  it("σ = 2^22 (wide acceptance steps), against normal-CDF bins", () => {
    // For S this large the discrete Gaussian's mass on [a, b] equals Φ((b + ½)/√S) − Φ((a − ½)/√S)
    // up to ~1e-20 (midpoint rule; Poisson summation makes the normaliser exact to e^(−2π²S)).
    const sigma = 2 ** 22;
    const { variance } = discreteGaussianParameters(sigma);
    const s = Math.sqrt(variance);
    const draws = discreteGaussianNoise(1_000_000, sigma);
    const width = Math.round(s / 20);
    const bins = 160; // ±4σ in bins of σ/20; the two end bins also collect the tails
    const edges = Array.from({ length: bins + 1 }, (_, i) => (i - bins / 2) * width);
    const expected = edges.slice(0, -1).map((a, i) => {
      const lower = i === 0 ? -Infinity : (a - 0.5) / s;
      const upper = i === bins - 1 ? Infinity : (edges[i + 1]! - 0.5) / s;
      return (ndtr(upper) - ndtr(lower)) * draws.length;
    });
    const observed = new Float64Array(bins);
    for (const x of draws) {
      const b = Math.floor(x / width) + bins / 2;
      observed[b < 0 ? 0 : b >= bins ? bins - 1 : b]!++;
    }
    let stat = 0;
    for (let b = 0; b < bins; b++) stat += (observed[b]! - expected[b]!) ** 2 / expected[b]!;
    expect(Math.min(...expected)).toBeGreaterThan(5);
    expect(stat).toBeLessThan(chiSquareCritical(bins - 1, 1e-4));
  });

  it("has mean 0 and variance S at σ = 2^20 (10⁶ draws, within 5 standard errors)", () => {
    const sigma = 2 ** 20;
    const { variance: S } = discreteGaussianParameters(sigma);
    const n = 1_000_000;
    const m = moments(discreteGaussianNoise(n, sigma));
    expect(Math.abs(m.mean)).toBeLessThan(5 * Math.sqrt(S / n));
    // Var of the sample variance of a normal: 2S²/(n − 1).
    expect(Math.abs(m.variance - S)).toBeLessThan(5 * S * Math.sqrt(2 / (n - 1)));
    expect(Math.abs(m.positive - m.negative)).toBeLessThan(5 * Math.sqrt(n));
  });

  it("the general (bit-by-bit) path fits the pmf too (3·10⁵ draws at σ = 3 and 300)", () => {
    for (const sigma of [3, 300]) {
      const r = fitAgainstExactPmf(sigma, 300_000, { path: "general" });
      expect(r.statistic).toBeLessThan(r.critical);
    }
  });

  it("the forced BigInt path fits the pmf too (10⁵ draws at σ = 3 and 17.5)", () => {
    for (const sigma of [3, 17.5]) {
      const r = fitAgainstExactPmf(sigma, 100_000, { path: "bigint" });
      expect(r.statistic).toBeLessThan(r.critical);
    }
  });

  it("the BigInt fallback at σ = 2^30 (2S > 2^53): mean 0, variance S, symmetric (10⁵ draws)", () => {
    const sigma = 2 ** 30;
    const { variance: S } = discreteGaussianParameters(sigma);
    expect(2 * S).toBeGreaterThan(2 ** 53);
    const n = 100_000;
    const x = discreteGaussianNoise(n, sigma);
    expect(x.every((v) => Number.isSafeInteger(v))).toBe(true);
    const m = moments(x);
    expect(Math.abs(m.mean)).toBeLessThan(5 * Math.sqrt(S / n));
    expect(Math.abs(m.variance - S)).toBeLessThan(5 * S * Math.sqrt(2 / (n - 1)));
    expect(Math.abs(m.positive - m.negative)).toBeLessThan(5 * Math.sqrt(n));
    // Normal-CDF deciles (exact to far below the sampling error at this S).
    const sorted = Float64Array.from(x).sort();
    for (let k = 1; k < 10; k++) {
      const q = sorted[Math.floor((k * n) / 10)]! / Math.sqrt(S);
      expect(Math.abs(ndtr(q) - k / 10)).toBeLessThan(5 * Math.sqrt(0.25 / n));
    }
  });
});

// ---------------------------------------------------------------------------------------------
// integer-only sampling
// ---------------------------------------------------------------------------------------------

describe("discrete Gaussian: integer arithmetic on the random words", () => {
  it("is a deterministic function of the random words and returns integers only", () => {
    for (const path of ["auto", "general", "bigint"] as const) {
      for (const sigma of [0.3, 2.5, 1000.5, 2 ** 21, 2 ** 33]) {
        const a = discreteGaussianNoise(2000, sigma, xorshiftFill(7), { path });
        const b = discreteGaussianNoise(2000, sigma, xorshiftFill(7), { path });
        expect(b).toEqual(a);
        expect(a.every((v) => Number.isSafeInteger(v))).toBe(true);
        expect(a.every((v) => !Object.is(v, -0))).toBe(true);
      }
    }
    // Scalar draws continue the same pooled stream as array draws.
    const random = xorshiftFill(99);
    const scalars = Array.from({ length: 50 }, () => discreteGaussianSample(40, random));
    expect(Float64Array.from(scalars)).toEqual(discreteGaussianNoise(50, 40, xorshiftFill(99)));
  });

  it("draws 64 KiB blocks of words from the source and no others", () => {
    const sizes: number[] = [];
    const random: RandomFill = (buffer) => {
      sizes.push(buffer.length);
      xorshiftFill(sizes.length)(buffer);
    };
    for (let i = 0; i < 20; i++) discreteGaussianNoise(5000, 2 ** 16, random);
    expect(new Set(sizes)).toEqual(new Set([16384]));
    // About 16 bytes per draw here: 10⁵ draws fit in ~25 blocks, not one block per call.
    expect(sizes.length).toBeLessThan(40);
  });

  it("uses no Math.random/exp/log/sqrt (nor any Math.* or fractional literal) in the sampling code", () => {
    const source = readFileSync(new URL("../src/discrete-gaussian.ts", import.meta.url), "utf8");
    const marker = "// sampling: integer arithmetic only";
    const at = source.indexOf(marker);
    expect(at).toBeGreaterThan(0);
    const stripComments = (s: string) => s.replace(/\/\*[\s\S]*?\*\//g, "").replace(/\/\/.*$/gm, "");
    const head = stripComments(source.slice(0, at));
    const sampling = stripComments(source.slice(at));
    expect(sampling).not.toMatch(/Math\./);
    expect(sampling).not.toMatch(/\b\d+\.\d+|\d[eE]-\d/);
    // Above the marker only the parameters are computed, with Math.floor (t) and Math.sqrt (σ_used = √S).
    expect(head).not.toMatch(/Math\.(random|exp|log|log1p|expm1|pow)\b/);
    expect([...head.matchAll(/Math\.(\w+)/g)].map((m) => m[1]).sort()).toEqual(["floor", "sqrt"]);
    expect(source).not.toMatch(/Math\.random/);
  });

  it("knows e⁻¹ exactly: ⌊2^n/e⌋ agrees with a long BigInt series and with the double", () => {
    const bits = inverseEBits(400);
    // Independent check: 1/e = Σ_k (−1)^k/k! at 600 bits (alternating: error below a few units).
    const P = 600n;
    let term = 1n << P;
    let s = 0n;
    for (let k = 0n; term > 0n; ) {
      s += k % 2n === 0n ? term : -term;
      k += 1n;
      term /= k;
    }
    const approx = s >> 200n;
    expect(approx - bits <= 1n && bits - approx <= 1n).toBe(true);
    expect(bits >> 392n).toBe(0x5en);
    expect(Number(inverseEBits(52)) / 2 ** 52).toBeCloseTo(Math.exp(-1), 15);
  });

  it("adds noise in place, keeps integers exact and refuses to leave 2^53", () => {
    const target = Float64Array.from({ length: 1000 }, (_, i) => i * 1_000_003);
    const before = Float64Array.from(target);
    addDiscreteGaussianNoise(target, 12.5, xorshiftFill(3));
    const noise = discreteGaussianNoise(1000, 12.5, xorshiftFill(3));
    for (let i = 0; i < target.length; i++) expect(target[i]).toBe(before[i]! + noise[i]!);
    // ±(2^53 − 1) with noise of σ = 1000: some entry leaves the range (all staying has probability ~2^−200).
    const edge = Float64Array.from({ length: 200 }, (_, i) => (i % 2 === 0 ? 1 : -1) * Number.MAX_SAFE_INTEGER);
    expect(() => addDiscreteGaussianNoise(edge, 1000)).toThrow(/2\^53/);
  });
});

// ---------------------------------------------------------------------------------------------
// accounting
// ---------------------------------------------------------------------------------------------

/**
 * D_α(N_Z(0, S) ‖ N_Z(Δ, S)) for integer α > 1 and integer Δ, by direct summation of the two
 * pmfs: (1/(α−1))·log Σ_x p(x)^α q(x)^(1−α). When the divergence is small the sum is written as
 * 1 + Σ_x p(x)·expm1((1−α)(x² − (x−Δ)²)/(2S)) to avoid cancellation; otherwise in log space.
 */
function renyiDivergence(alpha: number, delta: number, S: number): number {
  const sd = Math.sqrt(S);
  const lo = Math.floor(-(alpha - 1) * delta - 40 * sd - 10);
  const hi = Math.ceil(delta + 40 * sd + 10);
  const logP = (x: number) => -(x * x) / (2 * S);
  const logZ = (() => {
    const L = Math.ceil(40 * sd) + 10;
    const terms: number[] = [];
    for (let x = -L; x <= L; x++) terms.push(Math.exp(logP(x)));
    return Math.log(sum(terms));
  })();
  // log-sum-exp of α log p(x) + (1 − α) log q(x) (the normalisers cancel: q is p shifted by an integer).
  const logTerms: number[] = [];
  for (let x = lo; x <= hi; x++) logTerms.push(alpha * logP(x) + (1 - alpha) * logP(x - delta));
  const max = Math.max(...logTerms);
  const lse = max + Math.log(sum(logTerms.map((l) => Math.exp(l - max))));
  const big = (lse - logZ) / (alpha - 1);
  if (big > 1e-3) return big;
  const excess: number[] = [];
  for (let x = lo; x <= hi; x++) {
    excess.push(Math.exp(logP(x) - logZ) * Math.expm1(((1 - alpha) * (x * x - (x - delta) * (x - delta))) / (2 * S)));
  }
  return Math.log1p(sum(excess)) / (alpha - 1);
}

describe("discrete Gaussian accounting", () => {
  it("D_α(N_Z(0,S) ‖ N_Z(Δ,S)) = αΔ²/(2S) at integer α and Δ (direct summation, 1e-9 relative)", () => {
    for (const sigma of [0.8, 3, 17.5, 300]) {
      const { variance: S } = discreteGaussianParameters(sigma);
      for (const alpha of [2, 3, 5, 8]) {
        for (const delta of [1, 3, 10]) {
          const direct = renyiDivergence(alpha, delta, S);
          const claimed = (alpha * delta * delta) / (2 * S);
          expect(Math.abs(direct - claimed) / claimed).toBeLessThan(1e-9);
        }
      }
    }
  });

  it("T rounds of discrete_gaussian at z give the same RDP ε(δ) and δ(ε) as T Gaussian rounds at z", () => {
    for (const [z, T] of [
      [0.9, 1],
      [1.1, 100],
      [4, 1000],
    ] as const) {
      const { variance } = discreteGaussianParameters(z * 1000);
      const multiplier = Math.sqrt(variance) / 1000;
      const discrete = new PrivacyLedger();
      const gaussian = new PrivacyLedger();
      for (let r = 0; r < T; r++) {
        discrete.record({ type: "discrete_gaussian", noiseMultiplier: multiplier }, { round: r, label: "discrete Gaussian" });
        gaussian.recordRound({ noiseMultiplier: multiplier, round: r });
      }
      const a = discrete.epsilon(1e-5);
      const b = gaussian.epsilon(1e-5);
      expect(a.epsilon).toBe(b.epsilon);
      expect(a.bestOrder).toBe(b.bestOrder);
      expect(discrete.delta(a.epsilon).delta).toBe(gaussian.delta(a.epsilon).delta);
      expect(computeEpsilon(discreteGaussianRounds({ noiseMultiplier: multiplier, count: T }), 1e-5).epsilon).toBe(b.epsilon);
      // The ledger keeps the mechanism and label of each entry.
      expect(discrete.entries[0]).toEqual({ event: { type: "discrete_gaussian", noiseMultiplier: multiplier }, round: 0, label: "discrete Gaussian" });
      expect(discrete.atoms()).toEqual([{ sampling: "none", q: 1, sigma: multiplier, count: T, discreteCount: T }]);
    }
  });

  it("merges with Gaussian atoms of the same σ for RDP, in compositions too", () => {
    const mixed = new PrivacyLedger()
      .record(gaussianRounds({ noiseMultiplier: 1.3, count: 10 }))
      .record(discreteGaussianRounds({ noiseMultiplier: 1.3, count: 5 }))
      .record({ type: "composed", events: [{ type: "discrete_gaussian", noiseMultiplier: 1.3 }, { type: "gaussian", noiseMultiplier: 1.3 }] });
    expect(mixed.atoms()).toEqual([{ sampling: "none", q: 1, sigma: 1.3, count: 17, discreteCount: 6 }]);
    expect(mixed.epsilon(1e-6).epsilon).toBe(computeEpsilon(gaussianRounds({ noiseMultiplier: 1.3, count: 17 }), 1e-6).epsilon);
  });

  it("GDP refuses discrete_gaussian events with a clear error; RDP accepts them", () => {
    const event = discreteGaussianRounds({ noiseMultiplier: 2, count: 3 });
    const message = /the discrete Gaussian is accounted with RDP\/zCDP; use the rdp accountant/;
    expect(() => computeEpsilon(event, 1e-5, { accountant: "gdp" })).toThrow(message);
    expect(() => computeDelta(event, 1, { accountant: "gdp" })).toThrow(message);
    const ledger = new PrivacyLedger().record(gaussianRounds({ noiseMultiplier: 2 })).record(event);
    expect(() => ledger.epsilon(1e-5, { accountant: "gdp" })).toThrow(message);
    expect(() => checkBudget(new PrivacyLedger(), event, { epsilon: 8, delta: 1e-5 }, { accountant: "gdp" })).toThrow(message);
    expect(() => maxRoundsWithinBudget({ epsilon: 8, delta: 1e-5, noiseMultiplier: 2, ledger, accountant: "gdp" })).toThrow(message);
    expect(computeEpsilon(event, 1e-5).epsilon).toBeGreaterThan(0);
    // A ledger of Gaussian events only is still fine with GDP.
    expect(new PrivacyLedger().record(gaussianRounds({ noiseMultiplier: 2 })).epsilon(1e-5, { accountant: "gdp" }).epsilon).toBeGreaterThan(0);
  });

  it("parses, composes, refuses subsampling, and survives the ledger's JSON round trip and checkBudget", () => {
    expect(parseDpEvent({ type: "discrete_gaussian", noiseMultiplier: 1.5 })).toEqual({ type: "discrete_gaussian", noiseMultiplier: 1.5 });
    expect(() => parseDpEvent({ type: "discrete_gaussian", noiseMultiplier: -1 })).toThrow(/noiseMultiplier/);
    expect(() => parseDpEvent({ type: "discrete_gaussian" })).toThrow(/noiseMultiplier/);
    for (const type of ["poisson_sampled", "uniform_sampled"]) {
      expect(() => parseDpEvent({ type, samplingProbability: 0.1, event: { type: "discrete_gaussian", noiseMultiplier: 1 } })).toThrow(
        /discrete Gaussian cannot be subsampled/,
      );
    }
    expect(discreteGaussianRounds({ noiseMultiplier: 2 })).toEqual({ type: "discrete_gaussian", noiseMultiplier: 2 });
    expect(discreteGaussianRounds({ noiseMultiplier: 2, count: 4 })).toEqual({
      type: "self_composed",
      count: 4,
      event: { type: "discrete_gaussian", noiseMultiplier: 2 },
    });

    const round: DpEvent = {
      type: "composed",
      events: [
        { type: "discrete_gaussian", noiseMultiplier: 1.2 },
        { type: "discrete_gaussian", noiseMultiplier: 4 },
      ],
    };
    const ledger = new PrivacyLedger();
    for (let r = 0; r < 20; r++) ledger.record(round, { round: r, label: "sum + count" });
    const back = PrivacyLedger.fromJSON(JSON.stringify(ledger));
    expect(back.toJSON()).toEqual(ledger.toJSON());
    expect(back.epsilon(1e-5).epsilon).toBe(ledger.epsilon(1e-5).epsilon);
    expect(back.entries[3]).toEqual({ event: round, round: 3, label: "sum + count" });

    const check = checkBudget(ledger, round, { epsilon: 100, delta: 1e-5 });
    expect(check.allowed).toBe(true);
    expect(check.projected.epsilon).toBeGreaterThan(check.current.epsilon);
    const ledger21 = PrivacyLedger.fromJSON(ledger.toJSON()).record(round);
    expect(check.projected.epsilon).toBe(ledger21.epsilon(1e-5).epsilon);
    expect(checkBudget(ledger, round, { epsilon: check.current.epsilon, delta: 1e-5 }).allowed).toBe(false);
    // The same budget in Gaussian rounds: ρ adds up, 21 × (1/1.2² + 1/4²)/2.
    const zEff = 1 / Math.sqrt(1 / 1.2 ** 2 + 1 / 4 ** 2);
    expect(check.projected.epsilon).toBeCloseTo(computeEpsilon(gaussianRounds({ noiseMultiplier: zEff, count: 21 }), 1e-5).epsilon, 9);
  });
});
