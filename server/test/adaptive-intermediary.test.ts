import { describe, expect, it } from 'vitest';
import { chooseVirtualClients } from '../src/adaptive-intermediary';

describe('adaptive intermediary rule', () => {
  it('computes λ = ‖noise‖/Σ‖Δ‖ and v = √(N·λ), and scales VN by v', () => {
    // 4 hospitals; noise norm 2, raw norms summing to 0.5 → λ = 4, v = 4 → VN 3 → 12.
    const d = chooseVirtualClients({ noiseNorm: 2, normSum: 0.5, hospitals: 4, current: 3 });
    expect(d.lambda).toBe(4);
    expect(d.v).toBe(4);
    expect(d.next).toBe(12);
    expect(d.clamped).toBe(false);
  });

  it('keeps VN at the fixed point λ = 1/N and floors non-integer results', () => {
    expect(chooseVirtualClients({ noiseNorm: 1, normSum: 20, hospitals: 20, current: 7 }).next).toBe(7);
    // v = √(20·0.2) = 2 → 2.0·3 = 6; v = √(20·0.1) = 1.414… → ⌊4.24⌋ = 4
    expect(chooseVirtualClients({ noiseNorm: 2, normSum: 10, hospitals: 20, current: 3 }).next).toBe(6);
    expect(chooseVirtualClients({ noiseNorm: 1, normSum: 10, hospitals: 20, current: 3 }).next).toBe(4);
  });

  it('clamps VN to at least 1 where the seed would return 0, and says so', () => {
    const d = chooseVirtualClients({ noiseNorm: 0.001, normSum: 100, hospitals: 2, current: 1 });
    expect(d.v).toBeLessThan(1);
    expect(d.next).toBe(1);
    expect(d.clamped).toBe(true);
  });

  it('ada_stable multiplies by ⌊v⌋ and ada_prog moves halfway, both only when v ≥ 1', () => {
    const base = { noiseNorm: 9, normSum: 4, hospitals: 4, current: 2 }; // v = 3
    expect(chooseVirtualClients({ ...base, rule: 'ada_stable' }).next).toBe(6);
    expect(chooseVirtualClients({ ...base, rule: 'ada_prog' }).next).toBe(4); // ⌊(6 − 2)/2⌋ + 2
    const small = { noiseNorm: 1, normSum: 100, hospitals: 4, current: 5 }; // v = 0.2
    expect(chooseVirtualClients({ ...small, rule: 'ada_stable' }).next).toBe(5);
    expect(chooseVirtualClients({ ...small, rule: 'ada_prog' }).next).toBe(5);
    expect(chooseVirtualClients(small).next).toBe(1);
  });

  it('lands on ⌊√(z·√d/N)⌋ whatever the current VN when ‖noise‖ = σ√d and Σ‖Δ‖ = M·C (spec §1.5 heuristic)', () => {
    // ICH: d = 6,872,258 weights, N = 20 hospitals → ≈ 8 / 11 / 14 for z = 0.5 / 1.0 / 1.5.
    const d = 6_872_258;
    const n = 20;
    const c = 0.7;
    const expected = { 0.5: 8, 1: 11, 1.5: 14 } as const;
    for (const [z, want] of Object.entries(expected)) {
      for (const vn of [1, 3, 10]) {
        const m = n * vn;
        const sigma = (Number(z) * c) / m;
        const next = chooseVirtualClients({ noiseNorm: sigma * Math.sqrt(d), normSum: m * c, hospitals: n, current: vn }).next;
        expect(next).toBe(want);
      }
    }
  });

  it('rejects inputs the rule cannot judge', () => {
    expect(() => chooseVirtualClients({ noiseNorm: 1, normSum: 0, hospitals: 3, current: 1 })).toThrow(/norms/);
    expect(() => chooseVirtualClients({ noiseNorm: 1, normSum: 1, hospitals: 3, current: 0 })).toThrow(/VN/);
  });
});
