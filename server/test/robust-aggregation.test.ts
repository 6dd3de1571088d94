import { describe, expect, it } from 'vitest';
import { federationConfigSchema, type NamedTensor } from '@fedward/protocol';
import { createPlainAggregator } from '../src/dp';
import { boundNorm, combineCoordinates, trimCount } from '../src/dp/robust';
import { DEFAULT_FEDERATION } from '../src/server';

/** Without DP, one hospital must not take the model over (issue 13): robust rules bound one update's pull. */

const global: NamedTensor[] = [{ name: 'w', shape: [4], values: new Float32Array([0, 0, 0, 0]) }];
const update = (values: number[]): NamedTensor[] => [{ name: 'w', shape: [4], values: new Float32Array(values) }];
const honest = [update([1, 1, 1, 1]), update([1.2, 0.8, 1, 1.1]), update([0.9, 1.1, 1, 0.95])];
const attack = update([1e30, -1e30, 1e30, 1e30]);

function aggregate(robust: Parameters<typeof createPlainAggregator>[0]['robust']): number[] {
  const a = createPlainAggregator({ global, weighting: 'samples', ...(robust && { robust }) });
  for (const u of honest) a.add(u, { samples: 100 });
  // The attacker also claims a million samples.
  a.add(attack, { samples: 1_000_000 });
  return [...a.result().weights[0]!.values];
}

describe('robust aggregation without DP', () => {
  it('plain FedAvg is taken over by one update with extreme values and a huge claimed sample count', () => {
    expect(Math.abs(aggregate(undefined)[0]!)).toBeGreaterThan(1e20);
  });

  it('the coordinate median and the trimmed mean stay with the honest hospitals', () => {
    for (const robust of [{ rule: 'median' as const }, { rule: 'trimmed-mean' as const, trim: 0.2 }]) {
      for (const v of aggregate(robust)) expect(Math.abs(v - 1)).toBeLessThan(0.25);
    }
  });

  it('a norm bound limits one update to B/M', () => {
    const values = aggregate({ rule: 'norm-bound', normBound: 2 });
    const norm = Math.hypot(...values);
    // Three honest changes of norm ≈ 2 and one of norm exactly 2, averaged: at most 2.
    expect(norm).toBeLessThanOrEqual(2 + 1e-6);
    expect(values[1]!).toBeGreaterThan(0);
  });

  it('trims at least one each side from three updates, never all of them', () => {
    expect(trimCount(2, 0.1)).toBe(0);
    expect(trimCount(3, 0.1)).toBe(1);
    expect(trimCount(10, 0.2)).toBe(2);
    expect(trimCount(4, 0.49)).toBe(1);
    expect(combineCoordinates([[Float64Array.of(1)], [Float64Array.of(2)], [Float64Array.of(100)], [Float64Array.of(3)]], 'median')[0]![0]).toBe(2.5);
    const d = [Float64Array.of(3, 4)];
    boundNorm(d, 1);
    expect(Math.hypot(...d[0]!)).toBeCloseTo(1, 12);
  });

  it('is refused together with DP, whose clip already bounds every update', () => {
    const privacy = { noiseMultiplier: 1, clipNorm: 1, targetEpsilon: 8, delta: 1e-5, unit: 'hospital' as const, accountant: 'rdp' as const };
    const r = federationConfigSchema.safeParse({ ...DEFAULT_FEDERATION, privacy, aggregation: { strategy: 'fedavg', robust: { rule: 'median' } } });
    expect(r.success).toBe(false);
    expect(federationConfigSchema.safeParse({ ...DEFAULT_FEDERATION, aggregation: { strategy: 'fedavg', robust: { rule: 'median' } } }).success).toBe(true);
  });
});
