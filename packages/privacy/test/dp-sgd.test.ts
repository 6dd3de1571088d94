import { describe, expect, it } from 'vitest';
import { dpSgdEpsilon, rdpPoissonDiscreteGaussian, rdpSubsampledGaussian } from '../src';

/** Zhu & Wang (2019) Theorem 6 written out term by term in plain doubles (small α only). */
function direct(q: number, sigma: number, alpha: number): number {
  const binom = (n: number, k: number) => {
    let c = 1;
    for (let i = 1; i <= k; i++) c = (c * (n - k + i)) / i;
    return c;
  };
  const eps = (l: number) => l / (2 * sigma * sigma);
  let s = (1 - q) ** (alpha - 1) * (alpha * q - q + 1) + binom(alpha, 2) * q ** 2 * (1 - q) ** (alpha - 2) * Math.exp(eps(2));
  for (let l = 3; l <= alpha; l++) s += 3 * binom(alpha, l) * (1 - q) ** (alpha - l) * q ** l * Math.exp((l - 1) * eps(l));
  return Math.log(s) / (alpha - 1);
}

describe('DP-SGD accounting for the Poisson-subsampled discrete Gaussian (Zhu–Wang Theorem 6)', () => {
  it('matches the theorem written out term by term, and the unsampled curve at q = 1', () => {
    for (const [q, sigma] of [[0.01, 1], [0.05, 0.8], [0.2, 2], [0.5, 1.3]] as const) {
      for (const alpha of [2, 3, 5, 8, 12]) {
        expect(rdpPoissonDiscreteGaussian(q, sigma, alpha)).toBeCloseTo(direct(q, sigma, alpha), 10);
      }
    }
    expect(rdpPoissonDiscreteGaussian(1, 2, 7)).toBe(7 / 8);
    expect(() => rdpPoissonDiscreteGaussian(0.1, 1, 2.5)).toThrow(/integer orders/);
  });

  it('is never below the continuous Gaussian\u2019s tight value, and far below the unsampled curve for small q', () => {
    for (const alpha of [2, 4, 16, 32, 64]) {
      const bound = rdpPoissonDiscreteGaussian(0.02, 1.1, alpha);
      expect(bound).toBeGreaterThanOrEqual(rdpSubsampledGaussian(0.02, 1.1, alpha) - 1e-15);
    }
    expect(rdpPoissonDiscreteGaussian(0.02, 1.1, 8)).toBeLessThan((8 / (2 * 1.1 * 1.1)) / 10);
  });

  it('composes over steps: ε grows with the steps and sits at or above the continuous figure', () => {
    const at = (steps: number) => dpSgdEpsilon({ runs: [{ samplingProbability: 0.05, steps }], noiseMultiplier: 1, delta: 1e-5 });
    const e = [100, 400, 1600].map(at);
    expect(e[0]!.epsilon).toBeLessThan(e[1]!.epsilon);
    expect(e[1]!.epsilon).toBeLessThan(e[2]!.epsilon);
    for (const r of e) {
      expect(r.epsilon).toBeGreaterThanOrEqual(r.continuousEpsilon);
      // The price of a bound that holds for this noise: small next to the whole.
      expect(r.epsilon / r.continuousEpsilon).toBeLessThan(1.5);
    }
    expect(at(0).epsilon).toBe(0);
    // Two runs compose as one of their total steps when q is the same.
    const split = dpSgdEpsilon({ runs: [{ samplingProbability: 0.05, steps: 150 }, { samplingProbability: 0.05, steps: 250 }], noiseMultiplier: 1, delta: 1e-5 });
    expect(split.epsilon).toBeCloseTo(e[1]!.epsilon, 12);
  });
});

describe('DP-SGD accounting for uniform sampling without replacement (deepee\u2019s GDP CLT, an approximation)', () => {
  // Vectors from deepee (github.com/gkaissis/deepee): tests/test_privacy_accounting.py asserts
  // compute_eps_uniform(epoch=10, σ=1, n=50000, B=200, δ=1e-5) ∈ (1.29, 1.31); μ = 0.342028 and
  // ε = 1.30772 recomputed with numpy/scipy from deepee's formulas, and its docs' MNIST log
  // (n 60,000, B 200, σ 1, δ 1e-5) ε = 0.27 … 0.49 at steps 200 … 600, recomputed as
  // 0.269 / 0.336 / 0.393 / 0.444 / 0.490 (docs/specs/deepee.md §4.3).
  const uniform = (n: number, batch: number, sigma: number, steps: number) =>
    dpSgdEpsilon({ runs: [{ samplingProbability: batch / n, steps }], noiseMultiplier: sigma, delta: 1e-5, sampling: 'uniform' });

  it('compute_eps_uniform(epoch 10, σ 1, n 50000, B 200): μ = 0.342028, ε = 1.30772', () => {
    const r = uniform(50_000, 200, 1, (10 * 50_000) / 200);
    expect(r.accountant).toBe('gdp-clt');
    expect(r.mu).toBeCloseTo(0.342028, 6);
    expect(r.epsilon).toBeCloseTo(1.30772, 5);
    expect(r.epsilon).toBeGreaterThan(1.29);
    expect(r.epsilon).toBeLessThan(1.31);
  });

  it('deepee\u2019s MNIST log: ε at steps 200…600 = 0.269 / 0.336 / 0.393 / 0.444 / 0.490', () => {
    const expected = [0.269, 0.336, 0.393, 0.444, 0.49];
    [200, 300, 400, 500, 600].forEach((steps, i) => expect(uniform(60_000, 200, 1, steps).epsilon).toBeCloseTo(expected[i]!, 3));
  });

  it('composes runs as μ = √(Σ μ_k²): split runs at one q equal one run of their total; zero steps give 0; Poisson stays the default', () => {
    const whole = uniform(50_000, 200, 1, 2500);
    const split = dpSgdEpsilon({ runs: [{ samplingProbability: 0.004, steps: 1000 }, { samplingProbability: 0.004, steps: 1500 }], noiseMultiplier: 1, delta: 1e-5, sampling: 'uniform' });
    expect(split.mu).toBeCloseTo(whole.mu!, 12);
    expect(split.epsilon).toBeCloseTo(whole.epsilon, 9);
    const mixed = dpSgdEpsilon({ runs: [{ samplingProbability: 0.1, steps: 20 }, { samplingProbability: 0.2, steps: 30 }], noiseMultiplier: 2, delta: 1e-5, sampling: 'uniform' });
    const one = (q: number, t: number) => dpSgdEpsilon({ runs: [{ samplingProbability: q, steps: t }], noiseMultiplier: 2, delta: 1e-5, sampling: 'uniform' }).mu!;
    expect(mixed.mu).toBeCloseTo(Math.hypot(one(0.1, 20), one(0.2, 30)), 12);
    expect(dpSgdEpsilon({ runs: [{ samplingProbability: 0.1, steps: 0 }], noiseMultiplier: 1, delta: 1e-5, sampling: 'uniform' }).epsilon).toBe(0);
    const runs = [{ samplingProbability: 0.05, steps: 400 }];
    expect(dpSgdEpsilon({ runs, noiseMultiplier: 1, delta: 1e-5 })).toEqual(dpSgdEpsilon({ runs, noiseMultiplier: 1, delta: 1e-5, sampling: 'poisson' }));
    expect(dpSgdEpsilon({ runs, noiseMultiplier: 1, delta: 1e-5 }).accountant).toBe('rdp');
  });
});
