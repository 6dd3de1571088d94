import { afterAll, describe, expect, it } from "vitest";
import {
  computeDelta,
  computeEpsilon,
  gaussianRounds,
  gdpDelta,
  gdpEpsilon,
  muGaussian,
  muPoissonClt,
  muUniformClt,
  type AccountingOptions,
  type Conversion,
  type OrdersOption,
} from "../src/index";
import { ErrorReport, loadVectors, num, rel, type Row } from "./reference";

const V = loadVectors();
const report = new ErrorReport();
afterAll(() => report.print("ε against reference accountants"));

const ORDERS_BY_ID: Record<string, OrdersOption> = {
  dp_accounting_default: "dp_accounting",
  opacus_default: "opacus",
  tf_privacy_legacy: "tf_privacy",
  integer_2_63_plus_128_256_512_1024: V.meta.orders.integer_2_63_plus_128_256_512_1024!,
};
const CONVERSION_BY_ID: Record<string, Conversion> = {
  "balle2020_improved+kl_zero": "improved",
  balle2020_improved: "opacus",
  mironov2017_classic: "classic",
};

function optionsFor(row: Row): AccountingOptions {
  const orders = ORDERS_BY_ID[String(row.orders_id)];
  const conversion = CONVERSION_BY_ID[String(row.conversion)];
  if (orders === undefined || conversion === undefined) throw new Error(`unmapped row ${JSON.stringify(row)}`);
  return { orders, conversion };
}

function rounds(row: Row, sampling: "poisson" | "uniform" = "poisson") {
  return gaussianRounds({ noiseMultiplier: num(row, "sigma"), samplingProbability: num(row, "q"), sampling, count: num(row, "steps") });
}

/** Rows of one accountant, checked against its ε (and best order) within `tol`. */
function checkRdpSet(name: string, rows: Row[], tol: number): void {
  expect(rows.length, name).toBeGreaterThan(0);
  let worst = 0;
  for (const r of rows) {
    const res = computeEpsilon(rounds(r), num(r, "delta"), optionsFor(r));
    const expected = num(r, "epsilon");
    const e = Math.abs(expected) < 1e-3 ? Math.abs(res.epsilon - expected) : rel(res.epsilon, expected);
    worst = Math.max(worst, e);
    expect(e, JSON.stringify(r)).toBeLessThanOrEqual(tol);
    expect(res.bestOrder, JSON.stringify(r)).toBe(num(r, "best_order"));
  }
  report.add(`${name}`, rows.length, worst);
}

const byAccountant = (set: Row[], accountant: string, ordersId?: string) =>
  set.filter((r) => r.accountant === accountant && (ordersId === undefined || r.orders_id === ordersId));

describe("epsilon_vectors_integer_orders (exact across libraries)", () => {
  for (const acc of ["dp_accounting.rdp@integer_orders", "opacus.rdp@integer_orders", "tf_privacy_2020.rdp_classic@integer_orders"]) {
    it(acc, () => checkRdpSet(acc, byAccountant(V.epsilon_vectors_integer_orders, acc), 1e-9));
  }
});

describe("epsilon_vectors, RDP", () => {
  it("opacus.rdp@dp_accounting_orders (improved, no KL case, no clamp)", () =>
    checkRdpSet("opacus.rdp@dp_accounting_orders", byAccountant(V.epsilon_vectors, "opacus.rdp@dp_accounting_orders"), 1e-8));
  it("opacus.rdp (Opacus' orders)", () => checkRdpSet("opacus.rdp", byAccountant(V.epsilon_vectors, "opacus.rdp"), 1e-8));
  for (const ordersId of ["dp_accounting_default", "tf_privacy_legacy"]) {
    it(`tf_privacy_2022.rdp#${ordersId} (improved + KL case)`, () =>
      checkRdpSet(`tf_privacy_2022.rdp#${ordersId}`, byAccountant(V.epsilon_vectors, "tf_privacy_2022.rdp", ordersId), 1e-8));
    it(`tf_privacy_2020.rdp_classic#${ordersId}`, () =>
      checkRdpSet(`tf_privacy_2020.rdp_classic#${ordersId}`, byAccountant(V.epsilon_vectors, "tf_privacy_2020.rdp_classic", ordersId), 1e-9));
  }

  it("dp_accounting.rdp: never looser (its fractional orders use an absolute-value series), equal when the optimum is an integer order", () => {
    const rows = byAccountant(V.epsilon_vectors, "dp_accounting.rdp");
    let equal = 0;
    let worstEqual = 0;
    for (const r of rows) {
      const res = computeEpsilon(rounds(r), num(r, "delta"));
      const theirs = num(r, "epsilon");
      expect(res.epsilon, JSON.stringify(r)).toBeLessThanOrEqual(theirs * (1 + 1e-9) + 1e-12);
      if (Number.isInteger(num(r, "best_order")) && res.bestOrder === num(r, "best_order")) {
        equal++;
        worstEqual = Math.max(worstEqual, rel(res.epsilon, theirs));
        expect(rel(res.epsilon, theirs), JSON.stringify(r)).toBeLessThanOrEqual(1e-9);
      }
    }
    expect(equal).toBeGreaterThan(5);
    report.add("dp_accounting.rdp (≤ always; rows with equal integer optimum)", equal, worstEqual);
  });

  it("RDP ε is never below the PLD ε, and improved ≤ classic", () => {
    const pld = byAccountant(V.epsilon_vectors, "dp_accounting.pld");
    for (const r of pld) {
      const improved = computeEpsilon(rounds(r), num(r, "delta")).epsilon;
      const classic = computeEpsilon(rounds(r), num(r, "delta"), { conversion: "classic" }).epsilon;
      expect(improved, JSON.stringify(r)).toBeGreaterThanOrEqual(num(r, "epsilon") - 1e-6);
      expect(improved).toBeLessThanOrEqual(classic);
    }
    expect(pld.length).toBeGreaterThan(0);
  });
});

describe("epsilon_vectors, GDP", () => {
  for (const [acc, sampling, mu] of [
    ["opacus.gdp_poisson", "poisson", muPoissonClt],
    ["opacus.gdp_uniform", "uniform", muUniformClt],
  ] as const) {
    it(`${acc}: CLT μ within 1e-12, ε within 1e-8; rows where Opacus' bracket [0, 500] fails have ε > 500`, () => {
      const rows = byAccountant(V.epsilon_vectors, acc);
      let worstMu = 0;
      let worstEps = 0;
      let failed = 0;
      for (const r of rows) {
        const m = mu(num(r, "q"), num(r, "sigma"), num(r, "steps"));
        worstMu = Math.max(worstMu, rel(m, num(r, "mu")));
        expect(rel(m, num(r, "mu")), JSON.stringify(r)).toBeLessThanOrEqual(1e-12);
        const eps = gdpEpsilon(m, num(r, "delta"));
        if (typeof r.error === "string") {
          failed++;
          expect(eps).toBeGreaterThan(500);
          continue;
        }
        const expected = num(r, "epsilon");
        if (expected < 1e-3) {
          expect(Math.abs(eps - expected), JSON.stringify(r)).toBeLessThanOrEqual(1e-10);
        } else {
          worstEps = Math.max(worstEps, rel(eps, expected));
          expect(rel(eps, expected), JSON.stringify(r)).toBeLessThanOrEqual(1e-8);
        }
        // The ledger path composes μ² per step; it must agree for q < 1 (at q = 1 it uses the exact μ).
        if (num(r, "q") < 1) {
          const viaLedger = computeEpsilon(rounds(r, sampling), num(r, "delta"), { accountant: "gdp" });
          expect(rel(viaLedger.epsilon, eps)).toBeLessThanOrEqual(1e-12);
          expect(viaLedger.warnings.map((w) => w.code)).toContain("gdp_clt_approximation");
        }
      }
      report.add(`${acc} μ`, rows.length, worstMu);
      report.add(`${acc} ε (${failed} rows: ε > 500 where Opacus raises)`, rows.length - failed, worstEps);
    });
  }

  it("exact.gaussian (dp_accounting.get_epsilon_gaussian) within 1e-9", () => {
    const rows = V.epsilon_vectors.filter((r) => String(r.accountant).startsWith("exact.gaussian"));
    let worst = 0;
    for (const r of rows) {
      const res = computeEpsilon(rounds(r), num(r, "delta"), { accountant: "gdp" });
      expect(rel(res.mu ?? NaN, num(r, "mu"))).toBeLessThanOrEqual(1e-15);
      expect(res.warnings).toEqual([]);
      worst = Math.max(worst, rel(res.epsilon, num(r, "epsilon")));
      expect(rel(res.epsilon, num(r, "epsilon")), JSON.stringify(r)).toBeLessThanOrEqual(1e-9);
    }
    expect(rows.length).toBeGreaterThan(0);
    report.add("exact.gaussian", rows.length, worst);
  });
});

describe("fl_full_participation (q = 1)", () => {
  it("exact GDP ε (two libraries), RDP (two libraries), classic, μ, δ(ε)", () => {
    let worst = 0;
    const check = (got: number, expected: number, tol: number, what: string) => {
      const e = rel(got, expected);
      worst = Math.max(worst, e);
      expect(e, what).toBeLessThanOrEqual(tol);
    };
    for (const r of V.fl_full_participation) {
      const ctx = JSON.stringify(r);
      const delta = num(r, "delta");
      const sigma = num(r, "sigma");
      const steps = num(r, "steps");
      const ev = rounds(r);
      check(muGaussian(sigma, steps), num(r, "mu_gdp_exact"), 1e-12, ctx);
      const exact = computeEpsilon(ev, delta, { accountant: "gdp" }).epsilon;
      check(exact, num(r, "eps_exact_dp_accounting_get_epsilon_gaussian"), 1e-9, ctx);
      check(exact, num(r, "eps_exact_opacus_eps_from_mu"), 1e-9, ctx);
      check(gdpDelta(exact, num(r, "mu_gdp_exact")), delta, 1e-8, ctx);
      const rdp = computeEpsilon(ev, delta);
      check(rdp.epsilon, num(r, "eps_rdp_dp_accounting"), 1e-12, ctx);
      expect(rdp.bestOrder).toBe(num(r, "best_order_dp_accounting"));
      check(computeEpsilon(ev, delta, { orders: "opacus", conversion: "opacus" }).epsilon, num(r, "eps_rdp_opacus"), 1e-12, ctx);
      const classic = computeEpsilon(ev, delta, { conversion: "classic" });
      check(classic.epsilon, num(r, "eps_rdp_classic_tfp2020_dpa_orders"), 1e-12, ctx);
      expect(classic.bestOrder).toBe(num(r, "best_order_classic"));
      // The continuous-α optimum is below every grid value, and close to it.
      expect(classic.epsilon).toBeGreaterThanOrEqual(num(r, "eps_rdp_classic_continuous_alpha_analytic"));
      check(muPoissonClt(1, sigma, steps), num(r, "mu_opacus_gdp_poisson_at_q1"), 1e-12, ctx);
      // The exact Gaussian ε is the tightest (ε, δ) curve: below every RDP bound, at most PLD's pessimistic value.
      expect(exact).toBeLessThanOrEqual(rdp.epsilon);
      expect(exact).toBeLessThanOrEqual(num(r, "eps_pld_dp_accounting") * (1 + 1e-9));
    }
    report.add("fl_full_participation (all fields)", V.fl_full_participation.length, worst);
  });
});

describe("fl_scenarios (DP-FedAvg examples)", () => {
  it("RDP (dp_accounting orders, Opacus), classic (TF-Privacy orders), exact at q = 1", () => {
    let worst = 0;
    for (const s of V.fl_scenarios) {
      const ctx = String(s.name);
      const ev = gaussianRounds({ noiseMultiplier: num(s, "noise_multiplier"), samplingProbability: num(s, "q"), count: num(s, "rounds") });
      const delta = num(s, "delta");
      const ours = computeEpsilon(ev, delta);
      expect(ours.epsilon, ctx).toBeLessThanOrEqual(num(s, "eps_dp_accounting_rdp") * (1 + 1e-9));
      const opacus = computeEpsilon(ev, delta, { orders: "opacus", conversion: "opacus" }).epsilon;
      const classic = computeEpsilon(ev, delta, { orders: "tf_privacy", conversion: "classic" }).epsilon;
      for (const [got, key] of [
        [opacus, "eps_opacus_rdp"],
        [classic, "eps_tf_privacy_2020_classic_tfp_orders"],
      ] as const) {
        worst = Math.max(worst, rel(got, num(s, key)));
        expect(rel(got, num(s, key)), `${ctx} ${key}`).toBeLessThanOrEqual(1e-8);
      }
      if (typeof s.eps_exact_gaussian === "number") {
        const exact = computeEpsilon(ev, delta, { accountant: "gdp" }).epsilon;
        expect(rel(exact, s.eps_exact_gaussian), ctx).toBeLessThanOrEqual(1e-9);
      }
      expect(ours.epsilon).toBeGreaterThanOrEqual(num(s, "eps_dp_accounting_pld") - 1e-6);
    }
    report.add("fl_scenarios (Opacus RDP, TF-2020 classic)", V.fl_scenarios.length, worst);
  });
});

describe("anchors from upstream tests and docs", () => {
  const anchor = (accountant: string) => {
    const a = V.anchors.find((x) => x.accountant === accountant);
    if (!a) throw new Error(`anchor ${accountant} missing`);
    return a;
  };

  it("Opacus test_rdp_accountant, GDP accountant, TF tutorial (classic), dp_accounting MNIST", () => {
    const rdp = anchor("opacus.rdp");
    const ev = (a: Row) => gaussianRounds({ noiseMultiplier: num(a, "sigma"), samplingProbability: num(a, "q"), count: num(a, "steps") });
    expect(rel(computeEpsilon(ev(rdp), num(rdp, "delta"), { orders: "opacus", conversion: "opacus" }).epsilon, num(rdp, "recomputed"))).toBeLessThan(1e-9);
    const gdp = anchor("opacus.gdp_poisson");
    expect(rel(computeEpsilon(ev(gdp), num(gdp, "delta"), { accountant: "gdp" }).epsilon, num(gdp, "recomputed"))).toBeLessThan(1e-9);
    const tf = anchor("tf_privacy_2020.rdp_classic");
    const classic = computeEpsilon(ev(tf), num(tf, "delta"), { orders: "tf_privacy", conversion: "classic" });
    expect(rel(classic.epsilon, num(tf, "recomputed"))).toBeLessThan(1e-9);
    expect(classic.bestOrder).toBe(num(tf, "best_order"));
    const dpa = anchor("dp_accounting.rdp");
    expect(computeEpsilon(ev(dpa), num(dpa, "delta")).epsilon).toBeLessThanOrEqual(num(dpa, "recomputed") * (1 + 1e-9));
  });

  it("Opacus docstring: heterogeneous composition at orders 2..32 gives (0.336, 23)", () => {
    const a = anchor("opacus.rdp (orders 2..32, heterogeneous)");
    const parts = a.composition as [number, number, number][];
    const events = parts.map(([q, sigma, steps]) => gaussianRounds({ noiseMultiplier: sigma, samplingProbability: q, count: steps }));
    const orders = Array.from({ length: 31 }, (_, i) => i + 2);
    const res = computeEpsilon(events, num(a, "delta"), { orders, conversion: "opacus" });
    const [eps, order] = a.recomputed as [number, number];
    expect(rel(res.epsilon, eps)).toBeLessThan(1e-9);
    expect(res.bestOrder).toBe(order);
  });
});

describe("δ(ε) is the inverse of ε(δ)", () => {
  it("for RDP (improved and classic) and GDP", () => {
    for (const [q, sigma, steps] of [
      [0.01, 1.1, 1000],
      [0.1, 2, 50],
      [1, 8, 20],
    ] as const) {
      const ev = gaussianRounds({ noiseMultiplier: sigma, samplingProbability: q, count: steps });
      for (const opts of [{}, { conversion: "classic" }, { accountant: "gdp" }] as AccountingOptions[]) {
        const eps = computeEpsilon(ev, 1e-5, opts).epsilon;
        const back = computeDelta(ev, eps, opts).delta;
        // Each order's δ(ε) and ε(δ) are exact inverses; the minima match up to the KL term of the improved bound.
        expect(back).toBeLessThanOrEqual(1e-5 * (1 + 1e-9));
        expect(back).toBeGreaterThan(0.5e-5);
      }
    }
  });
});

describe("deepee's GDP vectors (docs/specs/deepee.md §4.3 and §6)", () => {
  // Fixed-size uniform batches: q = B/n, T = steps, δ = 1e-5.
  const uniform = (n: number, batch: number, sigma: number, steps: number) =>
    computeEpsilon(gaussianRounds({ noiseMultiplier: sigma, samplingProbability: batch / n, sampling: "uniform", count: steps }), 1e-5, {
      accountant: "gdp",
    });

  it("compute_eps_uniform(epoch 10, σ 1, n 50000, B 200): μ = 0.342028, ε = 1.30772", () => {
    const res = uniform(50000, 200, 1, (10 * 50000) / 200);
    expect(res.mu).toBeCloseTo(0.342028, 6);
    expect(res.epsilon).toBeCloseTo(1.30772, 5);
  });

  it("MNIST docs: ε at steps 200…600 = 0.269 / 0.336 / 0.393 / 0.444 / 0.490", () => {
    const expected = [0.269, 0.336, 0.393, 0.444, 0.49];
    [200, 300, 400, 500, 600].forEach((steps, i) => expect(uniform(60000, 200, 1, steps).epsilon).toBeCloseTo(expected[i]!, 3));
  });

  it("pneumonia (σ 3, B 32, n 4434, 2760 steps): GDP ε = 0.515 (μ = 0.146); RDP classic 0.642 at α = 37", () => {
    const gdp = uniform(4434, 32, 3, 2760);
    expect(gdp.epsilon).toBeCloseTo(0.515, 3);
    expect(gdp.mu).toBeCloseTo(0.146, 3);
    // deepee's fallback: Opacus' orders, Poisson RDP at q = B/n, classic conversion.
    const rdp = computeEpsilon(gaussianRounds({ noiseMultiplier: 3, samplingProbability: 32 / 4434, sampling: "uniform", count: 2760 }), 1e-5, {
      orders: "opacus",
      conversion: "classic",
    });
    expect(rdp.epsilon).toBeCloseTo(0.642, 3);
    expect(rdp.bestOrder).toBe(37);
    expect(rdp.warnings.map((w) => w.code)).toContain("uniform_sampling_as_poisson");
  });

  it("σ 1/2/3 at 1/5/10/20 epochs of 138 steps", () => {
    const table: Record<number, number[]> = { 1: [0.511, 1.233, 1.809, 2.668], 2: [0.171, 0.412, 0.601, 0.877], 3: [0.1, 0.242, 0.353, 0.515] };
    for (const [sigma, values] of Object.entries(table)) {
      [1, 5, 10, 20].forEach((epochs, i) => expect(uniform(4434, 32, Number(sigma), epochs * 138).epsilon).toBeCloseTo(values[i]!, 3));
    }
  });

  it("checklist references: Gaussian μ = 1 at δ = 1e-5 → 4.3772; Client-DP q = 1, T = 100 exact and RDP (Opacus conversion)", () => {
    expect(gdpEpsilon(1, 1e-5)).toBeCloseTo(4.3772, 4);
    const cases: [number, number, number, number][] = [
      // [δ, z, exact ε, RDP ε]
      [0.01, 0.5, 245.58, 260.32],
      [0.01, 1.0, 72.37, 78.01],
      [0.01, 1.5, 36.88, 40.53],
      [0.1, 0.3, 597.29, 630.79],
      [0.1, 0.5, 224.66, 239.67],
      [0.1, 0.7, 119.39, 131.26],
    ];
    for (const [delta, z, exact, rdp] of cases) {
      const ev = gaussianRounds({ noiseMultiplier: z, count: 100 });
      expect(computeEpsilon(ev, delta, { accountant: "gdp" }).epsilon).toBeCloseTo(exact, 2);
      expect(computeEpsilon(ev, delta, { orders: "opacus", conversion: "opacus" }).epsilon).toBeCloseTo(rdp, 2);
    }
  });
});
