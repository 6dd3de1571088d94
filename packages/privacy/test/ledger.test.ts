import { describe, expect, it } from "vitest";
import {
  LEDGER_FORMAT,
  PrivacyLedger,
  checkBudget,
  computeEpsilon,
  gaussianRounds,
  maxRoundsWithinBudget,
  parseDpEvent,
  projectEpsilon,
  type DpEvent,
} from "../src/index";

const DELTA = 1e-5;

function sampleLedger(): PrivacyLedger {
  const ledger = new PrivacyLedger();
  for (let round = 0; round < 30; round++) {
    ledger.recordRound({ round, noiseMultiplier: round < 20 ? 1.1 : 0.9, samplingProbability: 0.1, label: "DP-FedAvg" });
  }
  return ledger;
}

describe("PrivacyLedger", () => {
  it("composes recorded rounds like the equivalent self-composed events", () => {
    const ledger = sampleLedger();
    const direct = computeEpsilon(
      [
        gaussianRounds({ noiseMultiplier: 1.1, samplingProbability: 0.1, count: 20 }),
        gaussianRounds({ noiseMultiplier: 0.9, samplingProbability: 0.1, count: 10 }),
      ],
      DELTA,
    );
    const viaLedger = ledger.epsilon(DELTA);
    expect(viaLedger.epsilon).toBe(direct.epsilon);
    expect(viaLedger.bestOrder).toBe(direct.bestOrder);
    expect(ledger.entries).toHaveLength(30);
    // Heterogeneous rounds lie between the all-1.1 and all-0.9 ledgers.
    const low = computeEpsilon(gaussianRounds({ noiseMultiplier: 1.1, samplingProbability: 0.1, count: 30 }), DELTA).epsilon;
    const high = computeEpsilon(gaussianRounds({ noiseMultiplier: 0.9, samplingProbability: 0.1, count: 30 }), DELTA).epsilon;
    expect(viaLedger.epsilon).toBeGreaterThan(low);
    expect(viaLedger.epsilon).toBeLessThan(high);
  });

  it("round-trips through JSON text with the same entries and the same ε", () => {
    const ledger = sampleLedger();
    ledger.record({ type: "composed", events: [{ type: "gaussian", noiseMultiplier: 5 }, gaussianRounds({ noiseMultiplier: 2, samplingProbability: 0.3, sampling: "uniform", count: 4 })] });
    const text = JSON.stringify(ledger);
    const back = PrivacyLedger.fromJSON(text);
    expect(back.toJSON()).toEqual(ledger.toJSON());
    expect(JSON.parse(text).format).toBe(LEDGER_FORMAT);
    for (const options of [{}, { accountant: "gdp" as const }, { conversion: "classic" as const, orders: "opacus" as const }]) {
      expect(back.epsilon(DELTA, options)).toEqual(ledger.epsilon(DELTA, options));
      expect(back.delta(3, options)).toEqual(ledger.delta(3, options));
    }
    // The object form works too, and toJSON hands out a copy.
    const json = ledger.toJSON();
    json.entries.length = 0;
    expect(ledger.entries).toHaveLength(31);
    expect(PrivacyLedger.fromJSON(ledger.toJSON()).entries).toHaveLength(31);
  });

  it("rejects malformed JSON and events it cannot account", () => {
    const good = sampleLedger().toJSON();
    expect(() => PrivacyLedger.fromJSON({ ...good, format: "other" })).toThrow(/not a privacy ledger/);
    expect(() => PrivacyLedger.fromJSON({ ...good, version: 2 })).toThrow(/version/);
    expect(() => PrivacyLedger.fromJSON({ ...good, entries: [{ event: { type: "laplace", scale: 1 } }] })).toThrow(/unknown event type/);
    expect(() => PrivacyLedger.fromJSON({ ...good, entries: [{ event: { type: "gaussian", noiseMultiplier: -1 } }] })).toThrow(/noiseMultiplier/);
    expect(() => PrivacyLedger.fromJSON({ ...good, entries: [{ round: 1.5, event: { type: "gaussian", noiseMultiplier: 1 } }] })).toThrow(/round/);
    expect(() =>
      parseDpEvent({ type: "poisson_sampled", samplingProbability: 0.1, event: { type: "poisson_sampled", samplingProbability: 0.5, event: { type: "gaussian", noiseMultiplier: 1 } } }),
    ).toThrow(/only a Gaussian event can be subsampled/);
    expect(() => parseDpEvent({ type: "self_composed", count: 2.5, event: { type: "gaussian", noiseMultiplier: 1 } })).toThrow(/count/);
    expect(() => new PrivacyLedger().record({ type: "poisson_sampled", samplingProbability: 1.2, event: { type: "gaussian", noiseMultiplier: 1 } })).toThrow(
      /samplingProbability/,
    );
  });

  it("an empty ledger has ε = 0 and δ = 0", () => {
    const empty = new PrivacyLedger();
    expect(empty.epsilon(DELTA).epsilon).toBe(0);
    expect(empty.epsilon(DELTA, { accountant: "gdp" }).epsilon).toBe(0);
    expect(empty.delta(1, { accountant: "gdp" }).delta).toBe(0);
  });
});

describe("budget questions", () => {
  const round: DpEvent = gaussianRounds({ noiseMultiplier: 0.9, samplingProbability: 0.1 });

  it("projectEpsilon answers 'what if' without changing the ledger", () => {
    const ledger = sampleLedger();
    const before = ledger.epsilon(DELTA);
    const projected = projectEpsilon(ledger, round, DELTA);
    expect(ledger.entries).toHaveLength(30);
    expect(ledger.epsilon(DELTA)).toEqual(before);
    expect(projected.epsilon).toBeGreaterThan(before.epsilon);
    expect(projected.epsilon).toBe(ledger.withEvent(round).epsilon(DELTA).epsilon);
  });

  it("checkBudget allows a round that fits and refuses one that would overspend", () => {
    const ledger = sampleLedger();
    const after = projectEpsilon(ledger, round, DELTA).epsilon;
    const ok = checkBudget(ledger, round, { epsilon: after + 1e-6, delta: DELTA });
    expect(ok.allowed).toBe(true);
    expect(ok.remainingAfter).toBeGreaterThan(0);
    const refused = checkBudget(ledger, round, { epsilon: after - 1e-6, delta: DELTA });
    expect(refused.allowed).toBe(false);
    expect(refused.remainingAfter).toBeLessThan(0);
    expect(refused.current.epsilon).toBeLessThan(refused.projected.epsilon);
  });

  it("a server loop stops exactly at the budget, after the number of rounds maxRoundsWithinBudget predicts", () => {
    const cheap = gaussianRounds({ noiseMultiplier: 1.5, samplingProbability: 0.05 });
    const ledger = new PrivacyLedger();
    const budget = { epsilon: 3, delta: DELTA };
    let rounds = 0;
    while (checkBudget(ledger, cheap, budget).allowed) ledger.record(cheap, { round: rounds++ });
    expect(ledger.epsilon(DELTA).epsilon).toBeLessThanOrEqual(3);
    expect(projectEpsilon(ledger, cheap, DELTA).epsilon).toBeGreaterThan(3);
    expect(rounds).toBe(maxRoundsWithinBudget({ ...budget, noiseMultiplier: 1.5, samplingProbability: 0.05 }).rounds);
    expect(rounds).toBeGreaterThan(100);
  });
});

describe("warnings are returned as data", () => {
  it("best order at the edge of the grid (Opacus' orders stop at 63)", () => {
    const ev = gaussianRounds({ noiseMultiplier: 4, samplingProbability: 0.01 });
    const opacus = computeEpsilon(ev, 1e-3, { orders: "opacus", conversion: "opacus" });
    expect(opacus.bestOrder).toBe(63);
    expect(opacus.warnings.map((w) => w.code)).toEqual(["best_order_at_edge"]);
    expect(opacus.warnings[0]?.orders).toEqual([63]);
    // dp_accounting's list reaches 128, where the optimum is: no warning and a smaller ε.
    const wide = computeEpsilon(ev, 1e-3);
    expect(wide.bestOrder).toBe(128);
    expect(wide.warnings).toEqual([]);
    expect(wide.epsilon).toBeLessThan(opacus.epsilon);
  });

  it("GDP with subsampling warns about the CLT; full participation does not", () => {
    const sampled = new PrivacyLedger().recordRound({ noiseMultiplier: 1, samplingProbability: 0.1, count: 100 });
    expect(sampled.epsilon(DELTA, { accountant: "gdp" }).warnings.map((w) => w.code)).toEqual(["gdp_clt_approximation"]);
    const full = new PrivacyLedger().recordRound({ noiseMultiplier: 1, count: 100 });
    expect(full.epsilon(DELTA, { accountant: "gdp" }).warnings).toEqual([]);
  });

  it("RDP of fixed-size uniform batches is flagged as accounted as Poisson", () => {
    const ledger = new PrivacyLedger().recordRound({ noiseMultiplier: 1, samplingProbability: 0.1, sampling: "uniform", count: 10 });
    const res = ledger.epsilon(DELTA);
    expect(res.warnings.map((w) => w.code)).toContain("uniform_sampling_as_poisson");
    expect(res.epsilon).toBe(computeEpsilon(gaussianRounds({ noiseMultiplier: 1, samplingProbability: 0.1, count: 10 }), DELTA).epsilon);
  });

  it("orders that need too many quadrature nodes are reported, and ε stays finite", () => {
    const res = computeEpsilon(gaussianRounds({ noiseMultiplier: 1e-4, samplingProbability: 0.5 }), DELTA);
    expect(res.warnings.map((w) => w.code)).toContain("orders_dropped");
    expect(Number.isFinite(res.epsilon)).toBe(true);
    expect(Number.isInteger(res.bestOrder)).toBe(true);
  });
});
