import type { ClipRule, QuantileClipRule } from './types';

/** The seed's cap on the median clip (`min(median, 25.0)`, private_trainer L133–144). */
export const DEFAULT_MEDIAN_CAP = 25;
export const DEFAULT_TARGET_QUANTILE = 0.5;
export const DEFAULT_QUANTILE_LEARNING_RATE = 0.2;

/** torch.median: for an even count, the LOWER of the two middle values. */
export function lowerMedian(values: readonly number[]): number {
  if (values.length === 0) throw new Error('the median of no values is undefined');
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** The seed's adaptive clip: C = min(lower median of the raw norms, cap). */
export function medianClip(norms: readonly number[], cap = DEFAULT_MEDIAN_CAP): number {
  return Math.min(lowerMedian(norms), cap);
}

/** C_{t+1} = C_t·exp(−η(b̃ − γ)): C shrinks when more than γ of the updates fit under it. */
export function nextQuantileClip(clip: number, unclippedFraction: number, targetQuantile: number, learningRate: number): number {
  return clip * Math.exp(-learningRate * (unclippedFraction - targetQuantile));
}

export interface ResolvedQuantileRule {
  initialClip: number;
  targetQuantile: number;
  learningRate: number;
  countNoise: number;
}

export function resolveQuantileRule(rule: QuantileClipRule, z: number): ResolvedQuantileRule {
  const r = {
    initialClip: rule.initialClip,
    targetQuantile: rule.targetQuantile ?? DEFAULT_TARGET_QUANTILE,
    learningRate: rule.learningRate ?? DEFAULT_QUANTILE_LEARNING_RATE,
    countNoise: rule.countNoise ?? z,
  };
  if (!(r.initialClip > 0) || !Number.isFinite(r.initialClip)) throw new Error(`quantile clipping: the initial clip must be positive (got ${r.initialClip})`);
  if (!(r.targetQuantile >= 0 && r.targetQuantile <= 1)) throw new Error(`quantile clipping: the target quantile must be in [0, 1] (got ${r.targetQuantile})`);
  if (!(r.learningRate > 0) || !Number.isFinite(r.learningRate)) throw new Error(`quantile clipping: the learning rate must be positive (got ${r.learningRate})`);
  if (!(r.countNoise >= 0) || !Number.isFinite(r.countNoise)) throw new Error(`quantile clipping: the count noise must be ≥ 0 (got ${r.countNoise})`);
  return r;
}

export function checkClipRule(rule: ClipRule): void {
  switch (rule.kind) {
    case 'fixed':
      if (!(rule.clip > 0) || !Number.isFinite(rule.clip)) throw new Error(`the clip bound must be positive (got ${rule.clip})`);
      return;
    case 'median': {
      const cap = rule.cap ?? DEFAULT_MEDIAN_CAP;
      if (!(cap > 0)) throw new Error(`the median clip's cap must be positive (got ${cap})`);
      return;
    }
    case 'quantile':
      return;
    default:
      throw new Error(`unknown clip rule ${(rule as { kind: unknown }).kind}`);
  }
}
