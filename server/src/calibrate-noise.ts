import type { PrivacyConfig } from '@fedward/protocol';
import { RoundEngine } from './round-engine';

export interface NoiseCalibration {
  noiseMultiplier: number;
  /** ε per patient and per hospital after all the study's rounds at that z (the guarded one ≤ the target). */
  epsilon: { patient: number; hospital: number };
}

/** ε per patient and per hospital after `rounds` rounds at noise multiplier z, as the study's engine accounts them. */
export function epsilonAt(privacy: Omit<PrivacyConfig, 'noiseMultiplier'>, z: number, rounds: number, dimension: number, hospitals: number) {
  return new RoundEngine({ privacy: { ...privacy, noiseMultiplier: z } }, dimension).projectedEpsilon(rounds, hospitals)!;
}

const Z_MIN = 0.05;
const Z_MAX = 64;

/**
 * The smallest noise multiplier z (to 0.1 %) whose `rounds` rounds keep ε for the study's unit
 * within its target, as the study's own round engine accounts them (same grid, same releases,
 * same VN rule, with `hospitals` taking part: the minimum, the public figure known in advance).
 * The heuristic VN grows with z, so ε is not smooth in z: the answer is checked after the search
 * and z raised until it holds. The adaptive VN rule depends on releases not yet made and cannot
 * be calibrated in advance.
 */
export function calibrateNoise(privacy: Omit<PrivacyConfig, 'noiseMultiplier'>, rounds: number, dimension: number, hospitals: number): NoiseCalibration {
  if (privacy.virtualClients === 'adaptive') {
    throw new Error('a target ε cannot be calibrated with the adaptive sub-client rule (it depends on releases not yet made): give z, or choose a fixed or heuristic number of sub-clients');
  }
  if ((privacy.clipRule ?? 'fixed') === 'median') throw new Error('the median clip is not private (ε = ∞): no z reaches a target ε with it');
  const at = (z: number) => epsilonAt(privacy, z, rounds, dimension, hospitals);
  const fits = (z: number) => at(z)[privacy.unit] <= privacy.targetEpsilon;
  if (!fits(Z_MAX)) {
    throw new Error(`ε ≤ ${privacy.targetEpsilon} per ${privacy.unit} over ${rounds} rounds needs z above ${Z_MAX}: allow a larger ε or fewer rounds`);
  }
  let lo = Z_MIN;
  let hi = Z_MAX;
  if (fits(lo)) hi = lo;
  while (hi / lo > 1.001) {
    const mid = Math.sqrt(lo * hi);
    if (fits(mid)) hi = mid;
    else lo = mid;
  }
  let z = Math.ceil(hi * 1000) / 1000;
  while (!fits(z)) z = Math.ceil(z * 1001) / 1000;
  return { noiseMultiplier: z, epsilon: at(z) };
}
