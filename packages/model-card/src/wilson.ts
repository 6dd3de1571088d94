import type { WilsonInterval } from './schema';

/** Φ⁻¹(0.975): the normal quantile of a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

/** Below this many held-out slices an accuracy is flagged as too small to read much into. */
export const MIN_TEST_SLICES = 30;

/**
 * Wilson score interval for a binomial proportion (Wilson 1927): with p̂ = k/n,
 *   centre = (p̂ + z²/2n) / (1 + z²/n),  half = z/(1 + z²/n) · √(p̂(1 − p̂)/n + z²/4n²).
 * Unlike p̂ ± z√(p̂(1−p̂)/n) it stays inside [0, 1] and is not zero-width at 0/n or n/n, which
 * is what a small held-out set (a few dozen slices) needs.
 */
export function wilsonInterval(successes: number, trials: number, z: number = Z_95): WilsonInterval {
  if (!Number.isInteger(trials) || trials < 1) throw new Error(`a Wilson interval needs at least one trial (got ${trials})`);
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new Error(`successes must be a whole number from 0 to ${trials} (got ${successes})`);
  }
  const p = successes / trials;
  const z2 = z * z;
  const denominator = 1 + z2 / trials;
  const centre = (p + z2 / (2 * trials)) / denominator;
  const half = (z / denominator) * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials * trials));
  // At k = 0 (k = n) the low (high) end is 0 (1) exactly in real arithmetic; floats leave dust.
  return {
    low: successes === 0 ? 0 : Math.max(0, centre - half),
    high: successes === trials ? 1 : Math.min(1, centre + half),
  };
}

/**
 * The interval of an accuracy reported as a fraction of `trials` slices: the hospital sends the
 * fraction, so the count of correct slices is recovered by rounding accuracy·n.
 */
export function accuracyInterval(accuracy: number, trials: number, z: number = Z_95): WilsonInterval {
  return wilsonInterval(Math.min(trials, Math.max(0, Math.round(accuracy * trials))), trials, z);
}
