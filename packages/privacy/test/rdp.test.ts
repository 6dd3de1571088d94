import { afterAll, describe, expect, it } from "vitest";
import {
  DP_ACCOUNTING_ORDERS,
  OPACUS_ORDERS,
  TF_PRIVACY_ORDERS,
  computeDelta,
  computeEpsilon,
  gaussianRounds,
  rdpCurve,
  rdpSubsampledGaussian,
  rdpToDelta,
  rdpToEpsilon,
} from "../src/index";
import { ErrorReport, loadVectors, num, rel } from "./reference";

const V = loadVectors();
const report = new ErrorReport();
afterAll(() => report.print("RDP of the subsampled Gaussian vs reference"));

describe("order lists", () => {
  it("equal the libraries' lists bit for bit", () => {
    expect(DP_ACCOUNTING_ORDERS).toEqual(V.meta.orders.dp_accounting_default);
    expect(OPACUS_ORDERS).toEqual(V.meta.orders.opacus_default);
    expect(TF_PRIVACY_ORDERS).toEqual(V.meta.orders.tf_privacy_legacy);
  });
});

describe("rdp_values_single_step", () => {
  it("integer orders match Opacus and dp_accounting within 1e-10", () => {
    const rows = V.rdp_values_single_step.filter((r) => Number.isInteger(num(r, "order")));
    let worst = 0;
    for (const r of rows) {
      const got = rdpSubsampledGaussian(num(r, "q"), num(r, "sigma"), num(r, "order"));
      for (const key of ["rdp_opacus", "rdp_dp_accounting"]) {
        const e = rel(got, num(r, key));
        worst = Math.max(worst, e);
        expect(e, JSON.stringify(r)).toBeLessThanOrEqual(1e-10);
      }
    }
    expect(rows.length).toBeGreaterThan(100);
    report.add("rdp_values_single_step (integer α) vs Opacus, dp_accounting", rows.length, worst);
  });

  it("fractional orders match the exact A_α (Opacus' signed series, mpmath quadrature) within 1e-7", () => {
    const rows = V.rdp_values_single_step.filter((r) => !Number.isInteger(num(r, "order")));
    let worstOpacus = 0;
    let worstQuad = 0;
    let quadRows = 0;
    for (const r of rows) {
      const got = rdpSubsampledGaussian(num(r, "q"), num(r, "sigma"), num(r, "order"));
      const e = rel(got, num(r, "rdp_opacus"));
      worstOpacus = Math.max(worstOpacus, e);
      expect(e, JSON.stringify(r)).toBeLessThanOrEqual(1e-7);
      if (typeof r.rdp_mpmath_quad === "number") {
        quadRows++;
        const eq = rel(got, r.rdp_mpmath_quad);
        worstQuad = Math.max(worstQuad, eq);
        expect(eq, JSON.stringify(r)).toBeLessThanOrEqual(1e-7);
      }
      // dp_accounting's absolute-value series is an upper bound (or ∞ when it gives up).
      if (typeof r.rdp_dp_accounting === "number") expect(got).toBeLessThanOrEqual(r.rdp_dp_accounting * (1 + 1e-9));
      else expect(r.rdp_dp_accounting_nonfinite).toBe("inf");
    }
    expect(quadRows).toBeGreaterThan(50);
    report.add("rdp_values_single_step (fractional α) vs Opacus", rows.length, worstOpacus);
    report.add("rdp_values_single_step (fractional α) vs mpmath quadrature", quadRows, worstQuad);
  });
});

describe("fractional orders against 50-digit quadrature", () => {
  // ε_RDP(α) computed with mpmath 1.3 at 50 significant digits (mpmath.quad of
  // A_α − 1 with breakpoints, then log1p), for this package; not from a library.
  const cases: [q: number, sigma: number, alpha: number, rdp: number][] = [
    [0.01, 4, 1.1, 3.545104682934414806e-6],
    [0.01, 1, 1.1, 9.2414710846869586352e-5],
    [0.5, 0.5, 1.1, 0.79263177957152034843],
    [0.9, 0.3, 2.5, 13.713288040163746248],
    [0.3, 10, 7.7, 0.0035232860880760660744],
    [0.1, 1, 3.3, 0.037881583364392852655],
    [0.05, 0.7, 10.9, 7.8241175216449418586],
    [1e-4, 30, 1.25, 6.9483033188884862694e-12],
  ];
  it("agree within 1e-12 (1e-9 when the RDP itself is below 1e-10)", () => {
    let worst = 0;
    for (const [q, sigma, alpha, expected] of cases) {
      const e = rel(rdpSubsampledGaussian(q, sigma, alpha), expected);
      expect(e, `${q} ${sigma} ${alpha}`).toBeLessThanOrEqual(expected < 1e-10 ? 1e-9 : 1e-12);
      if (expected >= 1e-10) worst = Math.max(worst, e);
    }
    report.add("fractional α vs 50-digit mpmath (RDP ≥ 1e-10)", cases.length - 1, worst);
  });
});

describe("RDP properties", () => {
  it("is α/(2σ²) without subsampling", () => {
    for (const sigma of [0.3, 1, 7]) {
      for (const alpha of [1.1, 2, 2.5, 63, 1024]) {
        expect(rdpSubsampledGaussian(1, sigma, alpha)).toBe(alpha / (2 * sigma * sigma));
      }
    }
  });

  it("handles the degenerate cases", () => {
    expect(rdpSubsampledGaussian(0, 1, 2.5)).toBe(0);
    expect(rdpSubsampledGaussian(0.1, 0, 2.5)).toBe(Infinity);
    expect(rdpSubsampledGaussian(0.1, Infinity, 2.5)).toBe(0);
    expect(() => rdpSubsampledGaussian(1.5, 1, 2)).toThrow(RangeError);
    expect(() => rdpSubsampledGaussian(0.1, 1, 1)).toThrow(RangeError);
  });

  it("grows with the order and q, shrinks with σ, and is positive", () => {
    for (const [q, sigma] of [
      [0.001, 0.7],
      [0.02, 1.3],
      [0.3, 2],
      [0.9, 5],
    ] as const) {
      const curve = rdpCurve(q, sigma, DP_ACCOUNTING_ORDERS);
      for (let i = 1; i < curve.length; i++) {
        expect(curve[i]!).toBeGreaterThanOrEqual(curve[i - 1]! * (1 - 1e-12));
      }
      expect(curve[0]!).toBeGreaterThan(0);
      for (const alpha of [1.5, 3.7, 12]) {
        const r = rdpSubsampledGaussian(q, sigma, alpha);
        expect(rdpSubsampledGaussian(q * 1.1, sigma, alpha)).toBeGreaterThan(r);
        expect(rdpSubsampledGaussian(q, sigma * 1.1, alpha)).toBeLessThan(r);
      }
    }
  });

  it("is continuous across integer orders (quadrature and finite sum agree)", () => {
    for (const [q, sigma] of [
      [0.01, 0.8],
      [0.1, 1],
      [0.5, 4],
    ] as const) {
      for (const k of [2, 5, 11]) {
        const exact = rdpSubsampledGaussian(q, sigma, k);
        const below = rdpSubsampledGaussian(q, sigma, k - 1e-9);
        const above = rdpSubsampledGaussian(q, sigma, k + 1e-9);
        expect(rel(below, exact)).toBeLessThan(1e-7);
        expect(rel(above, exact)).toBeLessThan(1e-7);
      }
    }
  });
});

describe("conversion from a full RDP curve", () => {
  it("rdpToEpsilon / rdpToDelta on a whole curve equal the accountant's branch-and-bound minimum", () => {
    for (const [q, sigma, steps] of [
      [0.01, 0.9, 3000],
      [0.3, 1.7, 40],
      [1, 3, 10],
    ] as const) {
      const curve = rdpCurve(q, sigma, DP_ACCOUNTING_ORDERS).map((r) => r * steps);
      const ev = gaussianRounds({ noiseMultiplier: sigma, samplingProbability: q, count: steps });
      for (const conversion of ["improved", "classic", "opacus"] as const) {
        const full = rdpToEpsilon(DP_ACCOUNTING_ORDERS, curve, 1e-6, conversion);
        const bb = computeEpsilon(ev, 1e-6, { conversion });
        expect(bb.epsilon).toBe(full.epsilon);
        expect(bb.bestOrder).toBe(full.bestOrder);
      }
      const d = rdpToDelta(DP_ACCOUNTING_ORDERS, curve, 2);
      expect(computeDelta(ev, 2).delta).toBe(d.delta);
    }
    expect(() => rdpToEpsilon([2, 3], [0.1], 1e-5)).toThrow(RangeError);
    expect(() => rdpToEpsilon([2], [-1], 1e-5)).toThrow(RangeError);
  });
});
