import { describe, expect, it } from 'vitest';
import { classProbabilities, maskPrediction, percent } from '../src/api/prediction';

describe('what the page shows of a prediction', () => {
  it('turns a classifier’s logits into probabilities that sum to 1, most likely first, with the labels in output order', () => {
    const p = classProbabilities([0.2, 1.8], ['lesion', 'normal']);
    expect(p.map((c) => c.label)).toEqual(['normal', 'lesion']);
    expect(p[0]!.probability).toBeCloseTo(1 / (1 + Math.exp(-1.6)), 12);
    expect(p.reduce((s, c) => s + c.probability, 0)).toBeCloseTo(1, 12);
  });

  it('stays finite for logits far too large for exp, and names a class the model has beyond the known labels', () => {
    const p = classProbabilities([1000, 999, -1000], ['a', 'b']);
    expect(p.every((c) => Number.isFinite(c.probability))).toBe(true);
    expect(p.map((c) => c.label)).toEqual(['a', 'b', 'class 3']);
  });

  it('counts a U-Net pixel as foreground at a probability of 0.5 or more (logit ≥ 0)', () => {
    const m = maskPrediction([-3, 0, 2, -0.1]);
    expect(m.share).toBe(0.5);
    expect(m.foreground[1]).toBe(0.5);
  });

  it('says probabilities in whole percent', () => {
    expect(percent(0.834)).toBe('83 %');
    expect(percent(1)).toBe('100 %');
  });
});
