/**
 * Speed of the privacy accountant and the noise generators.
 *   npm run bench:privacy [-- --json]
 * Prints medians over repeated runs, after a warm-up (steady state, not JIT
 * compilation); the discrete Gaussian rows also give min–max. "cold" means the
 * RDP curve of the (q, σ) involved was not cached yet (a fresh σ each
 * repetition). --json prints every row (min/median/max of wall and CPU ms) as
 * one JSON object instead of the table.
 */

import {
  PrivacyLedger,
  addDiscreteGaussianNoise,
  addGaussianNoise,
  calibrateNoiseMultiplier,
  discreteGaussianParameters,
  gaussianNoise,
  gaussianRounds,
  maxRoundsWithinBudget,
} from "../src/index";

const asJson = process.argv.slice(2).includes("--json");

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

interface Spread {
  min: number;
  median: number;
  max: number;
}

/** Medians (wall, cpu) and the spread of each over the runs. */
interface Timing {
  wall: number;
  cpu: number;
  wallSpread: Spread;
  cpuSpread: Spread;
  runs: number;
}

const spread = (xs: number[]): Spread => ({ min: Math.min(...xs), median: median(xs), max: Math.max(...xs) });

/**
 * Median wall and CPU time in ms of fn(rep) over `reps` runs. CPU time (this
 * process, user + system) is what to read on a shared machine, where other
 * jobs stretch wall time.
 */
function time(reps: number, fn: (rep: number) => void): Timing {
  const wall: number[] = [];
  const cpu: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    fn(rep);
    wall.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return { wall: median(wall), cpu: median(cpu), wallSpread: spread(wall), cpuSpread: spread(cpu), runs: reps };
}

/** [what, timing, goal in ms or null, heading printed above `what` (rows that also print min–max)] */
const rows: [string, Timing, number | null, string | null][] = [];
const row = (what: string, t: Timing, goalMs: number | null = null, heading: string | null = null) => rows.push([what, t, goalMs, heading]);

// Warm-up on unrelated parameters, so the figures are steady-state, not JIT compilation.
for (let i = 0; i < 30; i++) {
  new PrivacyLedger().recordRound({ noiseMultiplier: 0.7 + i * 0.05, samplingProbability: 0.02, count: 100 }).epsilon(1e-6);
  calibrateNoiseMultiplier({ epsilon: 2, delta: 1e-6, steps: 50 + i, samplingProbability: 0.03 });
}
addGaussianNoise(new Float32Array(100_000), 1);
addDiscreteGaussianNoise(new Float64Array(300_000), 1000.5);

// --- ε after 10⁴ composed rounds -------------------------------------------
const ROUNDS = 10_000;
const DELTA = 1e-5;

// A ledger as the server keeps it: one entry per round (q = 0.01, z ≈ 1.1).
const ledgers = Array.from({ length: 7 }, (_, rep) => {
  const ledger = new PrivacyLedger();
  const z = 1.1 + rep * 1e-7;
  for (let r = 0; r < ROUNDS; r++) ledger.recordRound({ round: r, noiseMultiplier: z, samplingProbability: 0.01 });
  return ledger;
});
row("ε, RDP, ledger of 10⁴ round entries (cold)", time(7, (rep) => ledgers[rep]!.epsilon(DELTA)), 5);
row("ε, RDP, same ledger (warm: curve cached)", time(20, () => ledgers[0]!.epsilon(DELTA)), 5);
row("ε, GDP, same ledger", time(20, () => ledgers[0]!.epsilon(DELTA, { accountant: "gdp" })), 5);

// Heterogeneous: z changes every 1000 rounds (10 distinct curves), full participation and subsampled.
const mixed = (rep: number, q: number) => {
  const ledger = new PrivacyLedger();
  for (let r = 0; r < ROUNDS; r++) ledger.recordRound({ noiseMultiplier: 0.8 + Math.floor(r / 1000) * 0.1 + rep * 1e-7, samplingProbability: q });
  return ledger;
};
const mixedLedgers = Array.from({ length: 7 }, (_, rep) => mixed(rep, 0.05));
row("ε, RDP, 10⁴ rounds with 10 different z, q = 0.05 (cold)", time(7, (rep) => mixedLedgers[rep]!.epsilon(DELTA)), 5);
row("recording 10⁴ round entries into a ledger", time(5, (rep) => mixed(rep + 100, 1)));
const json = JSON.stringify(ledgers[0]);
row(`ledger JSON round trip (10⁴ entries, ${(json.length / 1024).toFixed(0)} KiB)`, time(5, () => PrivacyLedger.fromJSON(JSON.stringify(ledgers[0]))));

// --- calibration -------------------------------------------------------------
const targets: [q: number, steps: number, eps: number][] = [
  [0.01, 1000, 1],
  [0.01, 1000, 8],
  [0.1, 100, 3],
  [0.5, 10, 1],
  [1, 100, 8],
];
let k = 0;
const calib = time(15, () => {
  const [q, steps, epsilon] = targets[k++ % targets.length]!;
  // A slightly different δ each time, so no RDP curve is reused between runs.
  calibrateNoiseMultiplier({ epsilon, delta: 1e-5 * (1 + k * 1e-9), steps, samplingProbability: q });
});
row("calibration of σ for (ε, δ, q, T), RDP (median of 5 targets × 3)", calib, 50);
row("calibration of σ, GDP", time(15, (rep) => calibrateNoiseMultiplier({ epsilon: 3, delta: 1e-5, steps: 1000 + rep, samplingProbability: 0.01, accountant: "gdp" })), 50);
row(
  "largest T within (ε = 8, δ) at z = 1.1, q = 0.01",
  time(7, (rep) => maxRoundsWithinBudget({ epsilon: 8, delta: DELTA, noiseMultiplier: 1.1 + rep * 1e-7, samplingProbability: 0.01 })),
  50,
);

// --- noise -------------------------------------------------------------------
const PARAMS = 10_000_000;
const weights = new Float32Array(PARAMS);
row("Gaussian noise: add to a 10M-parameter model", time(3, () => addGaussianNoise(weights, 0.01)), 1000);
row("Gaussian noise: fresh 10M-sample array", time(3, () => gaussianNoise(PARAMS, 1)), 1000);
// The integer path: exact N_Z(0, S) added to an integer-valued sum (zeros here; the values do not matter).
const grid = new Float64Array(PARAMS);
for (const bits of [15, 21]) {
  const sigma = 2 ** bits;
  const { variance } = discreteGaussianParameters(sigma);
  row(
    `  σ = 2^${bits} (S = ${variance})`,
    time(5, () => addDiscreteGaussianNoise(grid, sigma)),
    2000,
    "discrete Gaussian noise for a 10M-parameter model (integer sampler, CSPRNG)",
  );
  grid.fill(0);
}

// Sanity check printed with the figures: the events above are what the server records.
const check = ledgers[0]!.epsilon(DELTA);
const direct = new PrivacyLedger().record(gaussianRounds({ noiseMultiplier: 1.1, samplingProbability: 0.01, count: ROUNDS })).epsilon(DELTA);

const fmt = (ms: number) => ms.toFixed(ms < 10 ? 3 : 1).padStart(9);
const range = (x: Spread) => `${x.min.toFixed(0)}–${x.max.toFixed(0)}`;
if (asJson) {
  console.log(
    JSON.stringify({
      node: process.version,
      platform: `${process.platform}/${process.arch}`,
      unit: "ms",
      rows: rows.map(([what, t, goal, heading]) => ({
        what: heading === null ? what : `${heading}, ${what.trim()}`,
        runs: t.runs,
        wall: t.wallSpread,
        cpu: t.cpuSpread,
        goalMs: goal,
      })),
      check: { epsilon: check.epsilon, bestOrder: check.bestOrder, asOneEvent: direct.epsilon },
    }),
  );
} else {
  console.log(`@fedward/privacy benchmark (Node ${process.version}, ${process.platform}/${process.arch}); medians, ms`);
  console.log(`${"".padEnd(72)} ${"wall".padStart(9)} ${"cpu".padStart(9)}`);
  let lastHeading: string | null = null;
  for (const [what, t, goal, heading] of rows) {
    if (heading !== null && heading !== lastHeading) console.log(heading);
    lastHeading = heading;
    const verdict = goal === null ? "" : `  goal < ${goal} ms: ${Math.min(t.wall, t.cpu) < goal ? "ok" : "MISSED"}`;
    const spreads = heading !== null ? `  (${t.runs} runs; min–max wall ${range(t.wallSpread)}, cpu ${range(t.cpuSpread)})` : "";
    console.log(`${what.padEnd(72)} ${fmt(t.wall)} ${fmt(t.cpu)}${verdict}${spreads}`);
  }
  console.log(`(ε after 10⁴ rounds at q = 0.01, z = 1.1, δ = 1e-5: ${check.epsilon.toFixed(4)} at α = ${check.bestOrder}; as one event: ${direct.epsilon.toFixed(4)})`);
}
