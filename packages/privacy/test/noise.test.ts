import { afterEach, describe, expect, it, vi } from "vitest";
import { addGaussianNoise, addGaussianNoiseToModel, cryptoRandomFill, gaussianNoise, ndtr, type RandomFill } from "../src/index";

afterEach(() => {
  vi.restoreAllMocks();
});

function moments(x: Float32Array, offset = 0) {
  let s1 = 0;
  for (const v of x) s1 += v - offset;
  const mean = s1 / x.length;
  let s2 = 0;
  let s4 = 0;
  for (const v of x) {
    const d = v - offset - mean;
    s2 += d * d;
    s4 += d * d * d * d;
  }
  const variance = s2 / (x.length - 1);
  return { mean, std: Math.sqrt(variance), kurtosis: s4 / x.length / (variance * variance) };
}

describe("CSPRNG Gaussian noise, 10⁶ draws", () => {
  const n = 1_000_000;
  const std = 2.5;
  const x = gaussianNoise(n, std);

  it("has mean 0 and the requested std (5-sigma statistical bounds)", () => {
    const m = moments(x);
    // Standard errors: mean σ/√n = 0.0025; std ≈ σ/√(2n) = 0.0018.
    expect(Math.abs(m.mean)).toBeLessThan((5 * std) / Math.sqrt(n));
    expect(Math.abs(m.std - std)).toBeLessThan((5 * std) / Math.sqrt(2 * n));
    // Normal kurtosis is 3 (standard error √(24/n) ≈ 0.005).
    expect(Math.abs(m.kurtosis - 3)).toBeLessThan(5 * Math.sqrt(24 / n));
  });

  it("follows the normal CDF (Kolmogorov–Smirnov on a fixed grid) and its tails", () => {
    const sorted = Float64Array.from(x).sort();
    let d = 0;
    for (let k = 1; k < 200; k++) {
      const t = -4 + (8 * k) / 200;
      // Fraction of draws ≤ t·std, by binary search in the sorted sample.
      let lo = 0;
      let hi = n;
      while (lo < hi) {
        const mid = (lo + hi) >>> 1;
        if (sorted[mid]! <= t * std) lo = mid + 1;
        else hi = mid;
      }
      d = Math.max(d, Math.abs(lo / n - ndtr(t)));
    }
    // KS critical value at p = 0.001 is 1.95/√n.
    expect(d).toBeLessThan(1.95 / Math.sqrt(n));
    const beyond3 = x.reduce((c, v) => c + (Math.abs(v) > 3 * std ? 1 : 0), 0) / n;
    const p3 = 2 * ndtr(-3);
    expect(Math.abs(beyond3 - p3)).toBeLessThan(5 * Math.sqrt(p3 / n));
  });

  it("has no correlation between consecutive draws (the two outputs of a pair included)", () => {
    let c = 0;
    for (let i = 1; i < n; i++) c += x[i]! * x[i - 1]!;
    const corr = c / (n - 1) / (std * std);
    expect(Math.abs(corr)).toBeLessThan(5 / Math.sqrt(n));
  });
});

describe("noise API", () => {
  it("adds noise in place: mean shifts by the old values, spread is the std", () => {
    const target = new Float32Array(200_000).fill(3);
    addGaussianNoise(target, 0.1);
    const m = moments(target, 3);
    expect(Math.abs(m.mean)).toBeLessThan(5 * (0.1 / Math.sqrt(200_000)));
    expect(m.std).toBeCloseTo(0.1, 2);
  });

  it("noises every tensor of a model (list of named arrays or a record)", () => {
    const model = [
      { name: "conv/kernel", values: new Float32Array(1000) },
      { name: "conv/bias", values: new Float32Array(3) },
      { name: "dense/kernel", values: new Float32Array(70_000) },
    ];
    addGaussianNoiseToModel(model, 1);
    for (const t of model) expect(t.values.every((v) => v !== 0)).toBe(true);
    const record = { a: new Float32Array(5), b: new Float32Array(7) };
    addGaussianNoiseToModel(record, 1);
    expect([...record.a, ...record.b].every((v) => v !== 0)).toBe(true);
  });

  it("uses WebCrypto getRandomValues in chunks of at most 64 KiB, never Math.random", () => {
    const random = vi.spyOn(Math, "random");
    const getRandomValues = vi.spyOn(globalThis.crypto, "getRandomValues");
    gaussianNoise(300_000, 1);
    expect(random).not.toHaveBeenCalled();
    expect(getRandomValues.mock.calls.length).toBeGreaterThan(1);
    for (const [buf] of getRandomValues.mock.calls) expect((buf as ArrayBufferView).byteLength).toBeLessThanOrEqual(65536);
  });

  it("stays finite at the extreme uniforms (u = v = 2⁻⁵² gives s = 2⁻¹⁰³, not log(0))", () => {
    const nearZero: RandomFill = (buf) => {
      for (let i = 0; i < buf.length; i++) buf[i] = i % 2 === 0 ? 0x80000000 : 0;
    };
    const out = gaussianNoise(6, 1, nearZero);
    expect(out.every((v) => Number.isFinite(v) && Math.abs(v) < 13)).toBe(true);
  });

  it("refuses a source that never yields an acceptable pair (a broken generator)", () => {
    const zeros: RandomFill = (buf) => buf.fill(0);
    expect(() => gaussianNoise(2, 1, zeros)).toThrow(/random source/);
  });

  it("std 0 leaves values unchanged and consumes no randomness; bad std is rejected", () => {
    const fill = vi.fn<RandomFill>(cryptoRandomFill);
    const target = Float32Array.of(1, 2, 3);
    addGaussianNoise(target, 0, fill);
    expect([...target]).toEqual([1, 2, 3]);
    expect([...gaussianNoise(3, 0, fill)]).toEqual([0, 0, 0]);
    expect(fill).not.toHaveBeenCalled();
    expect(() => addGaussianNoise(target, -1)).toThrow(RangeError);
    expect(() => gaussianNoise(3, Number.NaN)).toThrow(RangeError);
    expect(() => gaussianNoise(-1, 1)).toThrow(RangeError);
  });
});
