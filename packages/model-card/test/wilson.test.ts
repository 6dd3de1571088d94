import { describe, expect, it } from 'vitest';
import { accuracyInterval, wilsonInterval } from '../src';

describe('Wilson score interval (95%)', () => {
  // Reference values: the roots in p of (k/n − p)² = z²·p(1 − p)/n solved in Python with
  // z = NormalDist().inv_cdf(0.975), independently of the closed form used in src/wilson.ts.
  it.each([
    [8, 10, 0.4901625, 0.9433178],
    [50, 100, 0.4038315, 0.5961685],
    [0, 10, 0, 0.2775328],
    [10, 10, 0.7224672, 1],
    [1, 1, 0.2065493, 1],
    [27, 30, 0.7437892, 0.9654001],
  ])('%i of %i → [%f, %f]', (k, n, low, high) => {
    const ci = wilsonInterval(k, n);
    expect(ci.low).toBeCloseTo(low, 6);
    expect(ci.high).toBeCloseTo(high, 6);
  });

  it('8/10 reads as [0.490, 0.943] to three decimals', () => {
    const ci = wilsonInterval(8, 10);
    expect([ci.low.toFixed(3), ci.high.toFixed(3)]).toEqual(['0.490', '0.943']);
  });

  it('stays inside [0, 1], contains k/n, and narrows as n grows', () => {
    for (const n of [1, 2, 5, 29, 30, 31, 1000]) {
      for (let k = 0; k <= n; k += Math.max(1, Math.floor(n / 7))) {
        const ci = wilsonInterval(k, n);
        expect(ci.low).toBeGreaterThanOrEqual(0);
        expect(ci.high).toBeLessThanOrEqual(1);
        expect(ci.low).toBeLessThanOrEqual(k / n);
        expect(ci.high).toBeGreaterThanOrEqual(k / n);
      }
    }
    const width = (n: number) => {
      const ci = wilsonInterval(Math.round(0.8 * n), n);
      return ci.high - ci.low;
    };
    expect(width(100)).toBeLessThan(width(10));
  });

  it('recovers the count from a reported accuracy', () => {
    expect(accuracyInterval(0.8, 10)).toEqual(wilsonInterval(8, 10));
    expect(accuracyInterval(0.7999999, 10)).toEqual(wilsonInterval(8, 10));
  });

  it('refuses what is not a count', () => {
    expect(() => wilsonInterval(1, 0)).toThrow(/at least one trial/);
    expect(() => wilsonInterval(11, 10)).toThrow(/0 to 10/);
    expect(() => wilsonInterval(2.5, 10)).toThrow(/whole number/);
  });
});
