/**
 * The Deputy-Enhanced Transfer state machine (spec 2.5, local_train.py L34–49).
 *
 * `start` is the state at the beginning of every round (the seed resets DET_stage to 0); the first epoch of a
 * round is therefore always `recover`, and `sublimate` needs at least one `exchange` epoch before it.
 */
export type DetStage = 'start' | 'recover' | 'exchange' | 'sublimate';
/** A stage that an epoch trains in. */
export type DetTrainingStage = Exclude<DetStage, 'start'>;

export const DET_ROUND_START: DetStage = 'start';

export interface DetThresholds {
  /** Below alpha1·F_p the deputy has fallen too far behind: recover. */
  alpha1: number;
  /** At or above alpha2·F_p (after exchanging) the deputy may teach: sublimate. */
  alpha2: number;
}

export const DET_THRESHOLDS: Readonly<DetThresholds> = { alpha1: 0.7, alpha2: 0.9 };

/** Training macro-F1 of both models, measured before the epoch (any common scale: only ratios matter). */
export interface DetScores {
  personalized: number;
  deputy: number;
}

/**
 * Stage for the next local epoch. The branches keep the seed's order. Its fourth branch ("logic error",
 * stage 4) is only reachable when a score is NaN, because for finite scores the second and third branches
 * cover every stage ≥ 2; non-finite scores are rejected here instead.
 */
export function nextDetStage(
  stage: DetStage,
  scores: DetScores,
  thresholds: DetThresholds = DET_THRESHOLDS,
): DetTrainingStage {
  const { personalized: fp, deputy: fd } = scores;
  if (!Number.isFinite(fp) || !Number.isFinite(fd)) {
    throw new RangeError(`DET needs finite F1 scores, got personalized ${fp}, deputy ${fd}`);
  }
  const { alpha1, alpha2 } = thresholds;
  if (!(alpha1 > 0 && alpha1 <= alpha2)) {
    throw new RangeError(`DET needs 0 < alpha1 ≤ alpha2, got ${alpha1}, ${alpha2}`);
  }
  const pastRecover = stage === 'exchange' || stage === 'sublimate'; // the seed's DET_stage >= 2
  if (fd < alpha1 * fp || stage === 'start') return 'recover';
  if ((fd >= alpha1 * fp && stage === 'recover') || (pastRecover && fd < alpha2 * fp)) return 'exchange';
  return 'sublimate';
}

/** Which models add the KL term towards the other (detached) model in an epoch (spec 2.5 table). */
export interface DetDistillation {
  /** Personalized loss is CE + KL(deputy ‖ personalized). */
  personalized: boolean;
  /** Deputy loss is CE + KL(personalized ‖ deputy). */
  deputy: boolean;
}

/**
 * Recover: the personalized model teaches the deputy. Exchange: mutual. Sublimate: the deputy teaches.
 * With fewer than two local epochs per round every epoch would be Recover, so the seed always trains
 * mutually then.
 */
export function detDistillation(stage: DetTrainingStage, localEpochs: number): DetDistillation {
  if (localEpochs < 2) return { personalized: true, deputy: true };
  switch (stage) {
    case 'recover':
      return { personalized: false, deputy: true };
    case 'exchange':
      return { personalized: true, deputy: true };
    case 'sublimate':
      return { personalized: true, deputy: false };
  }
}
