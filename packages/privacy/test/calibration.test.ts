import { afterAll, describe, expect, it } from "vitest";
import {
  CALIBRATION_RTOL,
  PrivacyLedger,
  calibrateNoiseMultiplier,
  computeEpsilon,
  gaussianRounds,
  maxRoundsWithinBudget,
  type AccountingOptions,
} from "../src/index";
import { ErrorReport, loadVectors, num, rel, type Row } from "./reference";

const V = loadVectors();
const report = new ErrorReport();
afterAll(() => report.print("calibration against reference accountants"));

const rows = (method: string, extra: (r: Row) => boolean = () => true) =>
  V.calibration_vectors.filter((r) => r.method === method && extra(r));

function calibrate(r: Row, options: AccountingOptions = {}) {
  return calibrateNoiseMultiplier({
    epsilon: num(r, "target_epsilon"),
    delta: num(r, "delta"),
    steps: num(r, "steps"),
    samplingProbability: num(r, "q"),
    ...options,
  });
}

function epsilonAt(r: Row, sigma: number, options: AccountingOptions = {}) {
  const ev = gaussianRounds({ noiseMultiplier: sigma, samplingProbability: num(r, "q"), count: num(r, "steps") });
  return computeEpsilon(ev, num(r, "delta"), options).epsilon;
}

describe("calibration_vectors", () => {
  it("dp_accounting.calibrate_dp_mechanism[rdp]: ε(σ) ≤ target (tight), σ never larger, equal within 1e-5 where the RDP values agree", () => {
    const set = rows("dp_accounting.calibrate_dp_mechanism[rdp]");
    let same = 0;
    let worst = 0;
    for (const r of set) {
      const ctx = JSON.stringify(r);
      const target = num(r, "target_epsilon");
      const res = calibrate(r);
      expect(res.epsilon, ctx).toBeLessThanOrEqual(target);
      expect(res.epsilon, ctx).toBeGreaterThan(target * (1 - 1e-6));
      expect(rel(epsilonAt(r, res.noiseMultiplier), res.epsilon)).toBeLessThan(1e-12);
      // Our RDP is never looser than dp_accounting's, so the smallest σ cannot be larger.
      expect(res.noiseMultiplier, ctx).toBeLessThanOrEqual(num(r, "sigma") * (1 + 1e-5));
      // Where both accountants give the same ε at dp_accounting's σ, the σ must agree.
      if (rel(epsilonAt(r, num(r, "sigma")), num(r, "epsilon_at_sigma")) < 1e-9) {
        same++;
        worst = Math.max(worst, rel(res.noiseMultiplier, num(r, "sigma")));
        expect(rel(res.noiseMultiplier, num(r, "sigma")), ctx).toBeLessThanOrEqual(1e-5);
      }
    }
    expect(same).toBeGreaterThan(10);
    report.add("dp_accounting.calibrate_dp_mechanism[rdp] σ (rows with equal RDP)", same, worst);
  });

  it("opacus.get_noise_multiplier[rdp] with epsilon_tolerance 1e-6 (Opacus orders and conversion): σ within 1e-5", () => {
    const set = rows("opacus.get_noise_multiplier[rdp]", (r) => r.epsilon_tolerance === 1e-6);
    const opacus: AccountingOptions = { orders: "opacus", conversion: "opacus" };
    let worst = 0;
    for (const r of set) {
      const res = calibrate(r, opacus);
      expect(res.epsilon).toBeLessThanOrEqual(num(r, "target_epsilon"));
      worst = Math.max(worst, rel(res.noiseMultiplier, num(r, "sigma")));
      expect(rel(res.noiseMultiplier, num(r, "sigma")), JSON.stringify(r)).toBeLessThanOrEqual(1e-5);
    }
    expect(set.length).toBeGreaterThan(0);
    report.add("opacus.get_noise_multiplier[rdp] tol 1e-6 σ", set.length, worst);
  });

  it("opacus.get_noise_multiplier[rdp] with the default tolerance 0.01: ours is the smaller σ, within 1%", () => {
    const set = rows("opacus.get_noise_multiplier[rdp]", (r) => r.epsilon_tolerance === 0.01);
    let worst = 0;
    for (const r of set) {
      const res = calibrate(r, { orders: "opacus", conversion: "opacus" });
      expect(res.noiseMultiplier).toBeLessThanOrEqual(num(r, "sigma") * (1 + 1e-9));
      worst = Math.max(worst, rel(res.noiseMultiplier, num(r, "sigma")));
      expect(rel(res.noiseMultiplier, num(r, "sigma")), JSON.stringify(r)).toBeLessThanOrEqual(0.01);
    }
    expect(set.length).toBeGreaterThan(0);
    report.add("opacus.get_noise_multiplier[rdp] tol 0.01 σ (Opacus stops early)", set.length, worst);
  });

  it("opacus.get_noise_multiplier[gdp_*] (CLT, q < 1): ours is the smaller σ, within 2%", () => {
    let n = 0;
    let worst = 0;
    for (const [method, sampling] of [
      ["opacus.get_noise_multiplier[gdp_poisson]", "poisson"],
      ["opacus.get_noise_multiplier[gdp_uniform]", "uniform"],
    ] as const) {
      for (const r of rows(method, (x) => typeof x.sigma === "number" && num(x, "q") < 1)) {
        const res = calibrate(r, { accountant: "gdp" });
        const viaSampling = calibrateNoiseMultiplier({
          epsilon: num(r, "target_epsilon"),
          delta: num(r, "delta"),
          steps: num(r, "steps"),
          samplingProbability: num(r, "q"),
          sampling,
          accountant: "gdp",
        });
        expect(viaSampling.noiseMultiplier).toBeLessThanOrEqual(num(r, "sigma") * (1 + 1e-9));
        expect(rel(viaSampling.noiseMultiplier, num(r, "sigma")), JSON.stringify(r)).toBeLessThanOrEqual(0.02);
        if (sampling === "poisson") expect(res.noiseMultiplier).toBe(viaSampling.noiseMultiplier);
        worst = Math.max(worst, rel(viaSampling.noiseMultiplier, num(r, "sigma")));
        n++;
      }
    }
    expect(n).toBeGreaterThan(10);
    report.add("opacus.get_noise_multiplier[gdp_*] σ (Opacus stops early)", n, worst);
  });

  it("exact Gaussian (q = 1): get_sigma_gaussian·√T within 1e-8", () => {
    const set = rows("exact.gaussian(dp_accounting.get_sigma_gaussian)*sqrt(T)");
    let worst = 0;
    for (const r of set) {
      const res = calibrate(r, { accountant: "gdp" });
      worst = Math.max(worst, rel(res.noiseMultiplier, num(r, "sigma")));
      expect(rel(res.noiseMultiplier, num(r, "sigma")), JSON.stringify(r)).toBeLessThanOrEqual(1e-8);
    }
    expect(set.length).toBeGreaterThan(0);
    report.add("exact Gaussian σ (q = 1)", set.length, worst);
  });

  it("Opacus anchors (tolerance 0.01): get_noise_multiplier rdp 1.3562, gdp 1.3232 within 1%", () => {
    const anchor = (name: string): Row => {
      const a = V.anchors.find((x) => x.accountant === name);
      if (!a) throw new Error(`anchor ${name} missing`);
      return a;
    };
    const rdp = anchor("opacus.get_noise_multiplier[rdp]");
    const gdp = anchor("opacus.get_noise_multiplier[gdp]");
    const ours = calibrate(rdp, { orders: "opacus", conversion: "opacus" }).noiseMultiplier;
    expect(ours).toBeLessThanOrEqual(num(rdp, "recomputed_sigma"));
    expect(rel(ours, num(rdp, "recomputed_sigma"))).toBeLessThan(0.01);
    const oursGdp = calibrate(gdp, { accountant: "gdp" }).noiseMultiplier;
    expect(oursGdp).toBeLessThanOrEqual(num(gdp, "recomputed_sigma"));
    expect(rel(oursGdp, num(gdp, "recomputed_sigma"))).toBeLessThan(0.01);
  });
});

describe("calibration behaviour", () => {
  it("returns the smallest σ: a σ smaller by the tolerance overspends", () => {
    for (const [q, steps, epsilon] of [
      [0.01, 1000, 2],
      [1, 10, 5],
      [0.2, 30, 1],
    ] as const) {
      const res = calibrateNoiseMultiplier({ epsilon, delta: 1e-6, steps, samplingProbability: q });
      const lower = res.noiseMultiplier * (1 - 10 * CALIBRATION_RTOL);
      expect(computeEpsilon(gaussianRounds({ noiseMultiplier: lower, samplingProbability: q, count: steps }), 1e-6).epsilon).toBeGreaterThan(epsilon);
      expect(res.evaluations).toBeLessThan(60);
    }
  });

  it("rejects targets it cannot meet and bad input", () => {
    expect(() => calibrateNoiseMultiplier({ epsilon: 0, delta: 1e-5, steps: 10 })).toThrow(RangeError);
    expect(() => calibrateNoiseMultiplier({ epsilon: 1, delta: 1e-5, steps: 0 })).toThrow(RangeError);
    expect(() => calibrateNoiseMultiplier({ epsilon: 1e-9, delta: 1e-12, steps: 1e9 })).toThrow(/no noise multiplier/);
  });
});

describe("maxRoundsWithinBudget", () => {
  it("is the largest T with ε(T) ≤ target < ε(T + 1), counting rounds already in the ledger", () => {
    const ledger = new PrivacyLedger().recordRound({ noiseMultiplier: 1.1, samplingProbability: 0.05, count: 40 });
    for (const options of [{}, { accountant: "gdp" }] as AccountingOptions[]) {
      const res = maxRoundsWithinBudget({ epsilon: 4, delta: 1e-5, noiseMultiplier: 1.1, samplingProbability: 0.05, ledger, ...options });
      const eps = (t: number) => ledger.withEvent(gaussianRounds({ noiseMultiplier: 1.1, samplingProbability: 0.05, count: t })).epsilon(1e-5, options).epsilon;
      expect(res.rounds).toBeGreaterThan(0);
      expect(eps(res.rounds)).toBeLessThanOrEqual(4);
      expect(eps(res.rounds + 1)).toBeGreaterThan(4);
      expect(res.epsilon).toBe(eps(res.rounds));
    }
  });

  it("answers 0 when the ledger is already over budget and ∞ for rounds that cost nothing", () => {
    const spent = new PrivacyLedger().recordRound({ noiseMultiplier: 0.5, count: 10 });
    expect(maxRoundsWithinBudget({ epsilon: 1, delta: 1e-5, noiseMultiplier: 1, ledger: spent }).rounds).toBe(0);
    expect(maxRoundsWithinBudget({ epsilon: 1, delta: 1e-5, noiseMultiplier: 1, samplingProbability: 0 }).rounds).toBe(Infinity);
  });

  it("works for full participation with the exact GDP accountant", () => {
    const res = maxRoundsWithinBudget({ epsilon: 10, delta: 1e-5, noiseMultiplier: 2, accountant: "gdp" });
    const eps = (t: number) => computeEpsilon(gaussianRounds({ noiseMultiplier: 2, count: t }), 1e-5, { accountant: "gdp" }).epsilon;
    expect(eps(res.rounds)).toBeLessThanOrEqual(10);
    expect(eps(res.rounds + 1)).toBeGreaterThan(10);
  });
});
