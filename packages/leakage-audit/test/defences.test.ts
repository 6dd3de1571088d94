import { describe, expect, it } from 'vitest';
import { clientDpRelease, DEFENCES, IMPLEMENTED_DEFENCES, secureAggregateSum } from '../src/defences';
import { counterRandom } from './seeded-words';

describe('clientDpRelease', () => {
  it('clips Δ to C and adds noise of std z·C per coordinate, as the server does for one update', () => {
    const delta = [new Float32Array(4000).fill(0.05), new Float32Array(1000).fill(-0.05)];
    const r = clientDpRelease(delta, { noiseMultiplier: 1, clip: 1, delta: 1e-5, random: counterRandom(1) });
    expect(r.norm).toBeCloseTo(0.05 * Math.sqrt(5000), 4);
    expect(r.sigma).toBeCloseTo(1, 2);
    const all = [...r.delta[0]!, ...r.delta[1]!];
    const clipped = 1 / Math.sqrt(5000);
    const mean0 = r.delta[0]!.reduce((a, b) => a + b, 0) / 4000;
    expect(mean0).toBeCloseTo(clipped, 1);
    const sd = Math.sqrt(all.reduce((a, b) => a + b * b, 0) / all.length);
    expect(sd).toBeGreaterThan(0.95);
    expect(sd).toBeLessThan(1.05);
  });

  it('reports the per-patient ε of one round: larger for smaller z, finite', () => {
    const delta = [new Float32Array(100).fill(0.01)];
    const e1 = clientDpRelease(delta, { noiseMultiplier: 1, clip: 1, delta: 1e-5, random: counterRandom(2) }).epsilon;
    const e4 = clientDpRelease(delta, { noiseMultiplier: 4, clip: 1, delta: 1e-5, random: counterRandom(3) }).epsilon;
    expect(Number.isFinite(e1)).toBe(true);
    expect(e4).toBeLessThan(e1);
    expect(e4).toBeGreaterThan(0);
  });
});

describe('secureAggregateSum', () => {
  it('is the plain per-tensor sum of the updates (what the unmasked secagg sum equals)', () => {
    const a = [Float32Array.of(1, 2), Float32Array.of(0.5)];
    const b = [Float32Array.of(-1, 4), Float32Array.of(0.25)];
    const c = [Float32Array.of(3, 0), Float32Array.of(-2)];
    const sum = secureAggregateSum([a, b, c]);
    expect(sum.map((t) => Array.from(t))).toEqual([[3, 6], [-1.25]]);
    expect(Array.from(a[0]!)).toEqual([1, 2]);
  });

  it('refuses updates of different shapes and an empty round', () => {
    expect(() => secureAggregateSum([[Float32Array.of(1)], [Float32Array.of(1, 2)]])).toThrow(/values/);
    expect(() => secureAggregateSum([[Float32Array.of(1)], []])).toThrow(/tensors/);
    expect(() => secureAggregateSum([])).toThrow(/at least one/);
  });
});

describe('the defences the audit measures', () => {
  it('measures every defence it knows: none, dp, secagg, dp-sgd and precode', () => {
    expect([...IMPLEMENTED_DEFENCES]).toEqual(['none', 'dp', 'secagg', 'dp-sgd', 'precode']);
    expect([...IMPLEMENTED_DEFENCES]).toEqual([...DEFENCES]);
  });
});
