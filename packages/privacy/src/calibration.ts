/**
 * Inverse problems: the noise multiplier for a target (ε, δ) over T rounds,
 * and the number of rounds a budget allows at a given noise multiplier.
 */

import { epsilonForAtoms, resolveOptions, type AccountingOptions, type PrivacyWarning } from "./accountant";
import { brentRoot } from "./brent";
import { gaussianRounds, toAtoms, type Atom } from "./events";
import type { PrivacyLedger } from "./ledger";

/**
 * Relative tolerance on σ: the returned σ satisfies ε(σ) ≤ target and lies
 * within CALIBRATION_RTOL·σ of the smallest such σ.
 */
export const CALIBRATION_RTOL = 1e-9;

const SIGMA_MIN = 1e-6;
const SIGMA_MAX = 1e6;

export interface NoiseCalibrationTarget extends AccountingOptions {
  epsilon: number;
  delta: number;
  /** Number of rounds (compositions). */
  steps: number;
  /** Default 1 (full participation). */
  samplingProbability?: number;
  sampling?: "poisson" | "uniform";
  /** Relative tolerance on σ (default CALIBRATION_RTOL). */
  rtol?: number;
}

export interface NoiseCalibration {
  noiseMultiplier: number;
  /** ε at the returned σ (≤ the target). */
  epsilon: number;
  /** Accountant evaluations used (bracketing plus Brent). */
  evaluations: number;
  warnings: PrivacyWarning[];
}

/**
 * The smallest noise multiplier σ with ε(σ) ≤ target for `steps` rounds at
 * sampling probability q, by Brent's method on a bracket found by doubling.
 * ε(σ) is non-increasing in σ, so the answer is the root of ε(σ) − target.
 */
export function calibrateNoiseMultiplier(target: NoiseCalibrationTarget): NoiseCalibration {
  const { epsilon, delta, steps, samplingProbability = 1, sampling = "poisson", rtol = CALIBRATION_RTOL } = target;
  if (!(epsilon > 0 && epsilon < Infinity)) throw new RangeError(`target ε must be finite and > 0, got ${epsilon}`);
  if (!(Number.isSafeInteger(steps) && steps >= 1)) throw new RangeError(`steps must be an integer ≥ 1, got ${steps}`);
  const opts = resolveOptions(target);
  // Values far above the target need not be exact (only their sign matters),
  // which spares the slow orders near 1 while bracketing.
  const ceiling = 2 * epsilon + 1;
  let evaluations = 0;
  const report = (sigma: number) => {
    evaluations++;
    const atoms = toAtoms([gaussianRounds({ noiseMultiplier: sigma, samplingProbability, sampling, count: steps })]);
    return epsilonForAtoms(atoms, delta, opts, ceiling);
  };
  const excess = (sigma: number): number => report(sigma).epsilon - epsilon;

  let lo = 1;
  let hi = 1;
  if (excess(hi) > 0) {
    do {
      lo = hi;
      hi *= 2;
      if (hi > SIGMA_MAX) throw new RangeError(`no noise multiplier ≤ ${SIGMA_MAX} reaches ε = ${epsilon}`);
    } while (excess(hi) > 0);
  } else {
    do {
      hi = lo;
      lo /= 2;
      // Even (almost) no noise meets the target: q = 0 or a target beyond reach of any ε.
      if (lo < SIGMA_MIN) return { noiseMultiplier: hi, ...finalReport(report(hi), evaluations) };
    } while (excess(lo) <= 0);
  }
  const res = brentRoot(excess, lo, hi, { xtol: 0, rtol });
  // Return the bracket end on the safe side (ε ≤ target), never the one just above it.
  const [b, c] = res.bracket;
  const [fb] = res.values;
  const sigma = fb <= 0 ? b : c;
  return { noiseMultiplier: sigma, ...finalReport(report(sigma), evaluations) };
}

function finalReport(r: { epsilon: number; warnings: PrivacyWarning[] }, evaluations: number) {
  return { epsilon: r.epsilon, evaluations, warnings: r.warnings };
}

export interface RoundsWithinBudget extends AccountingOptions {
  epsilon: number;
  delta: number;
  noiseMultiplier: number;
  samplingProbability?: number;
  sampling?: "poisson" | "uniform";
  /** Rounds already spent; the answer counts only further rounds. */
  ledger?: PrivacyLedger;
  /** Search limit (default 10⁹); returned as is when even that many rounds fit. */
  maxRounds?: number;
}

export interface RoundsAnswer {
  /** Largest number of further rounds with ε ≤ target (0 if not even one fits; ∞ if rounds cost nothing). */
  rounds: number;
  /** ε after that many rounds (ε of the ledger alone when rounds = 0). */
  epsilon: number;
  warnings: PrivacyWarning[];
}

/** The largest T such that the ledger plus T rounds at noise multiplier z stays within (ε, δ). */
export function maxRoundsWithinBudget(query: RoundsWithinBudget): RoundsAnswer {
  const { epsilon, delta, noiseMultiplier, samplingProbability = 1, sampling = "poisson", ledger, maxRounds = 1e9 } = query;
  const opts = resolveOptions(query);
  const base: Atom[] = ledger ? ledger.atoms() : [];
  const round = toAtoms([gaussianRounds({ noiseMultiplier, samplingProbability, sampling })]);
  // Only "ε ≤ target?" matters for the search, so ε above the target need not be exact.
  const at = (t: number) =>
    epsilonForAtoms(t === 0 ? base : [...base, ...round.map((a) => ({ ...a, count: t }))], delta, opts, epsilon);

  const start = epsilonForAtoms(base, delta, opts);
  if (round.length === 0 || round.every((a) => a.q === 0 || a.sigma === Infinity)) {
    return { rounds: start.epsilon <= epsilon ? Infinity : 0, epsilon: start.epsilon, warnings: start.warnings };
  }
  let good = { t: 0, report: start };
  if (start.epsilon > epsilon) return { rounds: 0, epsilon: start.epsilon, warnings: start.warnings };
  // Double until over budget, then bisect on integers: ε grows with T.
  let bad = 1;
  for (;;) {
    if (bad > maxRounds) bad = maxRounds;
    const r = at(bad);
    if (r.epsilon > epsilon) break;
    good = { t: bad, report: r };
    if (bad === maxRounds) return { rounds: bad, epsilon: r.epsilon, warnings: r.warnings };
    bad *= 2;
  }
  while (bad - good.t > 1) {
    const mid = Math.floor((good.t + bad) / 2);
    const r = at(mid);
    if (r.epsilon <= epsilon) good = { t: mid, report: r };
    else bad = mid;
  }
  return { rounds: good.t, epsilon: good.report.epsilon, warnings: good.report.warnings };
}
