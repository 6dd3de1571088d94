/** Errors a server or client may want to tell apart from bugs. */

export type SecAggStage = 'sharing' | 'masking' | 'unmasking';

/**
 * Too few participants remain for the threshold. The message names the stage and the counts, e.g.
 * "unmasking: 4 of 10 participants revealed shares, the threshold is 6".
 */
export class ThresholdError extends Error {
  override readonly name = 'ThresholdError';
  constructor(
    readonly stage: SecAggStage,
    readonly available: number,
    readonly of: number,
    readonly threshold: number,
    what: string,
  ) {
    super(`${stage}: ${available} of ${of} participants ${what}, the threshold is ${threshold}`);
  }
}

/** Throws a ThresholdError when `available` < `threshold`. */
export function requireThreshold(
  stage: SecAggStage,
  available: number,
  of: number,
  threshold: number,
  what: string,
): void {
  if (available < threshold) throw new ThresholdError(stage, available, of, threshold, what);
}
