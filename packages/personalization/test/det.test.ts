import { describe, expect, it } from 'vitest';
import {
  DET_ROUND_START,
  detDistillation,
  macroF1,
  nextDetStage,
  prrflLearningRate,
  type DetStage,
  type DetTrainingStage,
} from '../src/index';

const FP = 80; // personalized training macro-F1 (%); the deputy's score is given as a ratio of it
const scores = (ratio: number) => ({ personalized: FP, deputy: ratio * FP });

describe('DET transitions (spec 2.5, local_train.py L34–49)', () => {
  // Every branch of the seed's if/elif chain, with ratios F_d/F_p on both sides of α1 = 0.7 and α2 = 0.9,
  // including the boundaries, which belong to the upper side (the seed compares with ≥).
  const table: [DetStage, number, DetTrainingStage][] = [
    // stage 0 (start of every round) → Recover whatever the scores
    ['start', 0.1, 'recover'],
    ['start', 0.95, 'recover'],
    ['start', 1.2, 'recover'],
    // F_d < α1·F_p → Recover from any stage
    ['recover', 0.69, 'recover'],
    ['exchange', 0.69, 'recover'],
    ['sublimate', 0.5, 'recover'],
    // Recover and F_d ≥ α1·F_p → Exchange (even when F_d ≥ α2·F_p: Sublimate needs an Exchange first)
    ['recover', 0.7, 'exchange'],
    ['recover', 0.8, 'exchange'],
    ['recover', 0.95, 'exchange'],
    // stage ≥ 2 and α1·F_p ≤ F_d < α2·F_p → Exchange
    ['exchange', 0.7, 'exchange'],
    ['exchange', 0.89, 'exchange'],
    ['sublimate', 0.75, 'exchange'],
    // stage ≥ 2 and F_d ≥ α2·F_p → Sublimate
    ['exchange', 0.9, 'sublimate'],
    ['exchange', 1.1, 'sublimate'],
    ['sublimate', 0.9, 'sublimate'],
    ['sublimate', 1.0, 'sublimate'],
  ];
  it.each(table)('%s with F_d = %f·F_p → %s', (stage, ratio, expected) => {
    expect(nextDetStage(stage, scores(ratio))).toBe(expected);
  });

  it('runs a round as Recover → Exchange → Sublimate and restarts at Recover next round', () => {
    const ratios = [1.0, 0.8, 0.92, 0.93, 0.85];
    let stage: DetStage = DET_ROUND_START;
    const seen = ratios.map((r) => (stage = nextDetStage(stage, scores(r))));
    expect(seen).toEqual(['recover', 'exchange', 'sublimate', 'sublimate', 'exchange']);
    expect(nextDetStage(DET_ROUND_START, scores(0.99))).toBe('recover');
  });

  it('treats zero scores like the seed (0 ≥ 0.7·0), so an untrained pair still advances', () => {
    const zero = { personalized: 0, deputy: 0 };
    expect(nextDetStage('recover', zero)).toBe('exchange');
    expect(nextDetStage('exchange', zero)).toBe('sublimate');
  });

  it('honours custom thresholds and rejects bad inputs', () => {
    expect(nextDetStage('exchange', scores(0.85), { alpha1: 0.5, alpha2: 0.8 })).toBe('sublimate');
    expect(() => nextDetStage('exchange', { personalized: NaN, deputy: 1 })).toThrow(RangeError);
    expect(() => nextDetStage('exchange', scores(1), { alpha1: 0.9, alpha2: 0.7 })).toThrow(RangeError);
  });
});

describe('DET losses per stage (spec 2.5 table)', () => {
  it.each([
    ['recover', 5, { personalized: false, deputy: true }],
    ['exchange', 5, { personalized: true, deputy: true }],
    ['sublimate', 5, { personalized: true, deputy: false }],
    ['recover', 1, { personalized: true, deputy: true }],
    ['sublimate', 1, { personalized: true, deputy: true }],
  ] as const)('%s with %i local epochs', (stage, epochs, expected) => {
    expect(detDistillation(stage, epochs)).toEqual(expected);
  });
});

describe('macro-F1 (sklearn average="macro")', () => {
  it('averages 2TP/(2TP+FP+FN) over the labels that occur', () => {
    // class 0: TP 1, FP 1, FN 1 → 0.5; class 1: TP 2, FP 1 → 0.8; class 2: FN 1 → 0
    expect(macroF1([0, 0, 1, 1, 2], [0, 1, 1, 1, 0])).toBeCloseTo((0.5 + 0.8 + 0) / 3, 12);
  });

  it('ignores classes absent from both lists and counts classes only predicted', () => {
    expect(macroF1([0, 0, 2, 2], [0, 0, 2, 2])).toBe(1);
    // label 5 never occurs in the truth but is predicted once: its F1 is 0 and it counts.
    expect(macroF1([0, 0, 1], [0, 0, 5])).toBeCloseTo((1 + 0 + 0) / 3, 12);
  });

  it('rejects empty or mismatched inputs', () => {
    expect(() => macroF1([], [])).toThrow(RangeError);
    expect(() => macroF1([0, 1], [0])).toThrow(RangeError);
  });
});

describe('learning-rate schedule (spec 2.3)', () => {
  it('halves every 5 rounds from 0.01', () => {
    expect(prrflLearningRate(0)).toBe(0.01);
    expect(prrflLearningRate(4)).toBe(0.01);
    expect(prrflLearningRate(5)).toBe(0.005);
    expect(prrflLearningRate(49)).toBeCloseTo(1.953125e-5, 15);
  });
});
