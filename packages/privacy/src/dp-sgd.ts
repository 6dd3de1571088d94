/**
 * Accounting for DP-SGD with Fedward's noise: discrete Gaussian noise on the integer grid (so no
 * floating-point bits leak), on Poisson-sampled batches (the bound below) or on fixed-size batches
 * drawn uniformly without replacement (deepee's GDP CLT approximation, `dpSgdEpsilon` 'uniform').
 *
 * The tight subsampled-Gaussian RDP of Mironov, Talwar and Zhang (rdp.ts) is a computation for
 * the CONTINUOUS Gaussian; the discrete one has the same unsampled RDP curve ε(α) ≤ α/(2σ²)
 * (it is 1/(2σ²)-zCDP: Canonne, Kamath, Steinke 2020), but nothing proves the subsampled
 * computation carries over. So each step is accounted with the bound that holds for ANY mechanism
 * with that RDP curve under Poisson subsampling (Zhu and Wang, "Poisson Subsampled Rényi
 * Differential Privacy", ICML 2019, Theorem 6), at integer orders α ≥ 2:
 *
 *   ε'(α) ≤ 1/(α−1) · log( (1−q)^{α−1}(αq − q + 1) + C(α,2) q² (1−q)^{α−2} e^{ε(2)}
 *                          + 3 Σ_{l=3..α} C(α,l) (1−q)^{α−l} q^l e^{(l−1)ε(l)} ),
 *
 * with e^{(l−1)ε(l)} = e^{l(l−1)/(2σ²)}. It is Mironov et al.'s binomial sum with the terms l ≥ 3
 * tripled: a little looser (reported next to it by `dpSgdEpsilon`), and a bound.
 */
import { rdpToEpsilon } from './conversion';
import { gdpEpsilon, muUniformClt } from './gdp';
import { DP_ACCOUNTING_ORDERS } from './orders';
import { rdpSubsampledGaussian } from './rdp';
import { logAddExp } from './special';

/** One step's RDP at integer order α ≥ 2 for the Poisson-subsampled discrete Gaussian (Zhu & Wang Thm 6). */
export function rdpPoissonDiscreteGaussian(q: number, sigma: number, alpha: number): number {
  if (!(q > 0 && q <= 1)) throw new RangeError(`the sampling probability must be in (0, 1] (got ${q})`);
  if (!(sigma > 0)) throw new RangeError(`the noise multiplier must be > 0 (got ${sigma})`);
  if (!Number.isInteger(alpha) || alpha < 2) throw new RangeError(`this bound holds at integer orders ≥ 2 (got ${alpha})`);
  const inv2s2 = 1 / (2 * sigma * sigma);
  if (q === 1) return alpha * inv2s2;
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  // log of (1−q)^{α−1}(αq − q + 1)
  let total = (alpha - 1) * log1mQ + Math.log1p((alpha - 1) * q);
  let logBinom = Math.log(alpha); // log C(α, 1)
  for (let l = 2; l <= alpha; l++) {
    logBinom += Math.log((alpha - l + 1) / l);
    const factor = l >= 3 ? Math.log(3) : 0;
    total = logAddExp(total, factor + logBinom + l * logQ + (alpha - l) * log1mQ + l * (l - 1) * inv2s2);
  }
  return Math.max(0, total) / (alpha - 1);
}

/** Integer orders ≥ 2 of dp_accounting's default list (the bound above needs integers). */
const INTEGER_ORDERS: readonly number[] = Object.freeze(DP_ACCOUNTING_ORDERS.filter((a) => Number.isInteger(a) && a >= 2));

/** How DP-SGD's batches are drawn, and so which accountant applies. */
export type DpSgdSampling = 'poisson' | 'uniform';

export interface DpSgdEpsilon {
  /**
   * Poisson: the bound (Zhu–Wang on the discrete Gaussian's RDP curve, composed over the steps).
   * Uniform: deepee's GDP CLT figure, an approximation and not a bound.
   */
  epsilon: number;
  /** The RDP order at which ε is reached (NaN for uniform, and when no step was taken). */
  order: number;
  /** What the continuous Gaussian's tight computation would say (for comparison: not a bound for this noise). Uniform: equals ε. */
  continuousEpsilon: number;
  /** Which accountant gave ε: 'rdp' (Poisson, a bound) or 'gdp-clt' (uniform, an approximation). */
  accountant: 'rdp' | 'gdp-clt';
  /** Uniform only: the composed μ of the runs (μ-GDP under the CLT). */
  mu?: number;
}

/**
 * ε at δ after DP-SGD runs of `steps` steps each at sampling probability q (a hospital's record
 * count, and so q, may change between rounds), noise multiplier σ, for one record (a patient when
 * records are patients).
 *
 * - 'poisson' (default): records taken independently with probability q. RDP composes by addition
 *   over every step; the Zhu–Wang bound above. A strict bound for the discrete noise.
 * - 'uniform': fixed batches of B = q·records drawn uniformly without replacement (deepee's
 *   sampler), accounted as deepee does (deepee/privacy_accounting.py, compute_mu_uniform and
 *   eps_from_mu; Bu, Dong, Long, Su 2020): per run μ_k = √2·q·√T·√(e^{1/σ²}Φ(1.5/σ) + 3Φ(−0.5/σ) − 2)
 *   (`muUniformClt`), composed over runs as μ = √(Σ μ_k²) (μ-GDP composes so), and converted with
 *   the exact μ-GDP dual δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2) (`gdpEpsilon`).
 *   The CENTRAL LIMIT THEOREM behind μ is an approximation deepee uses, NOT a strict bound: it can
 *   underestimate ε for few steps or small σ, and it is derived for the continuous Gaussian (the
 *   discrete one is taken as that). So the UI labels it "GDP (CLT approximation, deepee)", while
 *   Poisson's figure is the strict RDP bound (the labels: `DP_SGD_ACCOUNTANT_LABELS` in
 *   @fedward/protocol).
 */
export function dpSgdEpsilon(o: {
  runs: readonly { samplingProbability: number; steps: number }[];
  noiseMultiplier: number;
  delta: number;
  sampling?: DpSgdSampling;
}): DpSgdEpsilon {
  for (const r of o.runs) if (!Number.isInteger(r.steps) || r.steps < 0) throw new RangeError(`steps must be a whole number ≥ 0 (got ${r.steps})`);
  const runs = o.runs.filter((r) => r.steps > 0);
  const sampling = o.sampling ?? 'poisson';
  if (sampling === 'uniform') {
    if (runs.length === 0) return { epsilon: 0, order: Number.NaN, continuousEpsilon: 0, accountant: 'gdp-clt', mu: 0 };
    if (!(o.noiseMultiplier > 0)) throw new RangeError(`the noise multiplier must be > 0 (got ${o.noiseMultiplier})`);
    for (const r of runs) {
      if (!(r.samplingProbability > 0 && r.samplingProbability <= 1)) throw new RangeError(`the sampling probability must be in (0, 1] (got ${r.samplingProbability})`);
    }
    const mu = Math.sqrt(runs.reduce((s, r) => s + muUniformClt(r.samplingProbability, o.noiseMultiplier, r.steps) ** 2, 0));
    const epsilon = gdpEpsilon(mu, o.delta);
    return { epsilon, order: Number.NaN, continuousEpsilon: epsilon, accountant: 'gdp-clt', mu };
  }
  if (runs.length === 0) return { epsilon: 0, order: Number.NaN, continuousEpsilon: 0, accountant: 'rdp' };
  const curve = (one: (q: number, a: number) => number) => INTEGER_ORDERS.map((a) => runs.reduce((s, r) => s + r.steps * one(r.samplingProbability, a), 0));
  const b = rdpToEpsilon(INTEGER_ORDERS, curve((q, a) => rdpPoissonDiscreteGaussian(q, o.noiseMultiplier, a)), o.delta);
  const c = rdpToEpsilon(INTEGER_ORDERS, curve((q, a) => rdpSubsampledGaussian(q, o.noiseMultiplier, a)), o.delta);
  return { epsilon: b.epsilon, order: b.bestOrder, continuousEpsilon: c.epsilon, accountant: 'rdp' };
}
