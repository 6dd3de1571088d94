/** The seed's final shared fraction: the progressive threshold grows linearly from l_rate towards it. */
export const PFA_FINAL_RATE = 0.95;

/**
 * Fraction of each spectral axis whose amplitude is averaged in round `round` of `rounds`
 * (spec 2.4, server.py L90): L_a = l + (a/rounds)·(0.95 − l). The expression keeps the seed's operation
 * order so that floor(h·L/2) lands on the same integer as numpy's.
 */
export function progressiveThreshold(lRate: number, round: number, rounds: number): number {
  if (!(lRate >= 0 && lRate <= 1)) throw new RangeError(`lRate must be in [0, 1], got ${lRate}`);
  if (!Number.isInteger(rounds) || rounds < 1) throw new RangeError(`rounds must be a positive integer, got ${rounds}`);
  if (!Number.isInteger(round) || round < 0 || round > rounds) {
    throw new RangeError(`round must be an integer in [0, ${rounds}], got ${round}`);
  }
  return lRate + (round / rounds) * (PFA_FINAL_RATE - lRate);
}
