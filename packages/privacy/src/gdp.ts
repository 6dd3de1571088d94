/**
 * Gaussian differential privacy (Dong, Roth, Su 2019).
 *
 * A μ-GDP mechanism is (ε, δ(ε))-DP for every ε with the exact dual
 *   δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2),
 * computed here in log space so that large μ (ε in the hundreds) stays exact,
 * where Opacus' bracket [0, 500] fails.
 *
 * μ is exact for the Gaussian mechanism without subsampling (T rounds at
 * noise multiplier σ: μ = √T/σ). For subsampling it comes from the central
 * limit theorem of Bu, Dong, Long, Su 2019, which is an approximation that
 * can underestimate ε for few steps or small σ.
 */

import { brentRoot } from "./brent";
import { logNdtr, ndtr } from "./special";

/** μ of T compositions of the Gaussian mechanism with noise multiplier σ (exact). */
export function muGaussian(sigma: number, steps: number): number {
  return Math.sqrt(steps) / sigma;
}

/** CLT μ for Poisson subsampling with probability q (Opacus' gdp accountant, "poisson"). */
export function muPoissonClt(q: number, sigma: number, steps: number): number {
  return q * Math.sqrt(steps * Math.expm1(1 / (sigma * sigma)));
}

/**
 * CLT μ for fixed-size batches drawn uniformly without replacement with
 * q = batch/dataset (Bu et al.; deepee's compute_mu_uniform, Opacus "uniform").
 */
export function muUniformClt(q: number, sigma: number, steps: number): number {
  const inner = Math.exp(1 / (sigma * sigma)) * ndtr(1.5 / sigma) + 3 * ndtr(-0.5 / sigma) - 2;
  return q * Math.sqrt(2 * steps) * Math.sqrt(inner);
}

/** log δ(ε) of μ-GDP. −∞ when δ underflows; 0 when μ = ∞. */
export function gdpLogDelta(epsilon: number, mu: number): number {
  if (mu === 0) return -Infinity;
  if (mu === Infinity) return 0;
  const la = logNdtr(-epsilon / mu + mu / 2);
  const lb = epsilon + logNdtr(-epsilon / mu - mu / 2);
  if (!(lb < la)) return -Infinity;
  return la + Math.log1p(-Math.exp(lb - la));
}

/** δ(ε) of μ-GDP. */
export function gdpDelta(epsilon: number, mu: number): number {
  return Math.exp(gdpLogDelta(epsilon, mu));
}

/** Root-finding tolerance on ε for gdpEpsilon (absolute, plus 4 ulp relative). */
export const GDP_EPSILON_XTOL = 1e-12;

/**
 * The smallest ε with δ(ε) ≤ δ for μ-GDP: 0 if δ(0) ≤ δ, ∞ if μ = ∞.
 * δ(ε) is decreasing, so the root of log δ(ε) = log δ is bracketed by doubling.
 */
export function gdpEpsilon(mu: number, delta: number): number {
  if (!(mu >= 0)) throw new RangeError(`μ must be ≥ 0, got ${mu}`);
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be in (0, 1), got ${delta}`);
  if (mu === Infinity) return Infinity;
  const target = Math.log(delta);
  const f = (eps: number): number => gdpLogDelta(eps, mu) - target;
  if (f(0) <= 0) return 0;
  let hi = Math.max(1, mu * mu);
  while (f(hi) > 0) hi *= 2;
  return brentRoot(f, 0, hi, { xtol: GDP_EPSILON_XTOL }).root;
}
