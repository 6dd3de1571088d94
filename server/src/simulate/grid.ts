import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { calibrateNoiseMultiplier } from '@fedward/privacy';
import type { StrategyName } from '../dp';
import { heuristicVirtualClients } from '../round-engine';
import { simulateFederation, type SimulatedRound, type SimulationOptions } from './run-federation';
import { linePlotSvg } from './svg-plot';
import { holm, pairedT } from './stats';

/**
 * The paper's grid with private mechanisms only, compared at EQUAL privacy. For each budget ε
 * (after all rounds, at δ) and server strategy, three arms (plus a no-DP reference):
 *
 *   baseline        VN = 1, z = 2μ: ε per patient = ε per hospital = ε;
 *   sub-clients (P) VN = the heuristic's, same z: ε per PATIENT = ε (a hospital pays more);
 *   sub-clients (H) the same VN, z = 2·VN·μ: ε per HOSPITAL = ε (a patient pays less);
 *
 * where μ is the Gaussian multiplier that spends ε in R rounds (a patient's replacement moves the
 * integer sum by 2·bound, a hospital's by 2·VN·bound, and the noise is z·bound). The clip rule is
 * a private one (fixed or quantile). Every (arm − baseline) difference is paired by seed and
 * tested with a paired t-test; the p-values are Holm-corrected over the whole grid.
 */
export interface GridOptions {
  base: Omit<SimulationOptions, 'z' | 'vn' | 'strategy' | 'seed' | 'onRound'>;
  budgets: number[];
  strategies: StrategyName[];
  seeds: number[];
  out: string;
  resume: boolean;
  command: string;
  backend: string;
  log?: (line: string) => void;
}

export type Arm = 'no-dp' | 'baseline' | 'equal-patient' | 'equal-hospital';

export interface GridRun {
  key: string;
  budget: number | null;
  strategy: StrategyName;
  arm: Arm;
  z: number;
  vn: number;
  seed: number;
  seconds: number;
  rows: SimulatedRound[];
}

interface Cell {
  budget: number | null;
  strategy: StrategyName;
  arm: Arm;
  z: number;
  vn: number;
}

const ARM_LABEL: Record<Arm, string> = {
  'no-dp': 'no DP',
  baseline: 'baseline (VN 1)',
  'equal-patient': 'sub-clients, equal ε per patient',
  'equal-hospital': 'sub-clients, equal ε per hospital',
};

const mean = (v: readonly number[]) => v.reduce((s, x) => s + x, 0) / v.length;
/** Sample standard deviation (n − 1); 0 for a single value. */
const std = (v: readonly number[]) => (v.length < 2 ? 0 : Math.sqrt(v.reduce((s, x) => s + (x - mean(v)) ** 2, 0) / (v.length - 1)));
const pm = (v: readonly number[], digits = 3) => `${mean(v).toFixed(digits)} ± ${std(v).toFixed(digits)}`;

export function finalMetric(rows: readonly SimulatedRound[]): number {
  return rows.at(-1)!.metric;
}
/** Mean of the last `k` rounds' accuracy: less noisy than the last round alone. */
export function tailMetric(rows: readonly SimulatedRound[], k = 5): number {
  return mean(rows.slice(-k).map((r) => r.metric));
}

/** The grid's cells: z and VN per arm from the budget, the rounds and the model size. */
export function gridCells(g: Pick<GridOptions, 'base' | 'budgets' | 'strategies'>, dimension: number): Cell[] {
  const cells: Cell[] = [];
  for (const strategy of g.strategies) cells.push({ budget: null, strategy, arm: 'no-dp', z: 0, vn: 1 });
  for (const budget of g.budgets) {
    const mu = calibrateNoiseMultiplier({ epsilon: budget, delta: g.base.delta, steps: g.base.rounds }).noiseMultiplier;
    const z = 2 * mu;
    const vn = heuristicVirtualClients(z, dimension, g.base.hospitals);
    for (const strategy of g.strategies) {
      cells.push({ budget, strategy, arm: 'baseline', z, vn: 1 });
      cells.push({ budget, strategy, arm: 'equal-patient', z, vn });
      cells.push({ budget, strategy, arm: 'equal-hospital', z: z * vn, vn });
    }
  }
  return cells;
}

export async function runGrid(g: GridOptions, dimension: number): Promise<GridRun[]> {
  const log = g.log ?? ((line: string) => console.error(line));
  mkdirSync(g.out, { recursive: true });
  const jsonl = resolve(g.out, 'runs.jsonl');
  const done = new Map<string, GridRun>();
  if (g.resume && existsSync(jsonl)) {
    for (const line of readFileSync(jsonl, 'utf8').split('\n')) {
      if (!line.trim()) continue;
      const run = JSON.parse(line) as GridRun;
      done.set(run.key, run);
    }
  } else {
    writeFileSync(jsonl, '');
  }
  const cells = gridCells(g, dimension);
  const started = Date.now();
  const runs: GridRun[] = [];
  const total = cells.length * g.seeds.length;
  for (const cell of cells) {
    for (const seed of g.seeds) {
      const options: Omit<SimulationOptions, 'onRound'> = { ...g.base, z: cell.z, strategy: cell.strategy, vn: cell.vn, seed };
      const key = JSON.stringify(options);
      let run = done.get(key);
      if (!run) {
        const t0 = Date.now();
        const rows = await simulateFederation(options);
        run = { key, ...cell, seed, seconds: (Date.now() - t0) / 1000, rows };
        appendFileSync(jsonl, JSON.stringify(run) + '\n');
      }
      runs.push(run);
      log(
        `[${runs.length}/${total}] ε=${cell.budget ?? '—'} ${cell.strategy} ${cell.arm} (z ${cell.z.toFixed(2)}, VN ${cell.vn}) seed ${seed}: final ${finalMetric(run.rows).toFixed(3)} (${run.seconds.toFixed(0)} s; ${((Date.now() - started) / 1000).toFixed(0)} s so far)`,
      );
    }
  }
  const wall = (Date.now() - started) / 1000;
  writeFileSync(resolve(g.out, 'summary.md'), summarize(g, cells, runs, wall));
  for (const strategy of g.strategies) {
    const series = cells
      .filter((c) => c.strategy === strategy)
      .map((c) => {
        const mine = runs.filter((r) => r.budget === c.budget && r.strategy === c.strategy && r.arm === c.arm);
        return {
          name: c.arm === 'no-dp' ? 'no DP' : `ε=${c.budget} ${c.arm}`,
          points: mine[0]!.rows.map((_, t) => ({ x: t, y: mean(mine.map((r) => r.rows[t]!.metric)) })),
        };
      });
    writeFileSync(
      resolve(g.out, `grid-${strategy}.svg`),
      linePlotSvg(series, { title: `${strategy}: mean held-out accuracy (mean of ${g.seeds.length} seeds)`, xLabel: 'round', yLabel: 'accuracy' }),
    );
  }
  return runs;
}

function summarize(g: GridOptions, cells: Cell[], runs: GridRun[], wall: number): string {
  const of = (c: Pick<Cell, 'budget' | 'strategy' | 'arm'>) => runs.filter((r) => r.budget === c.budget && r.strategy === c.strategy && r.arm === c.arm);
  const fmtEps = (v: readonly (number | null)[]) => {
    const xs = v.filter((x): x is number => x !== null);
    if (xs.length === 0) return '—';
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return Math.abs(hi - lo) < 0.05 ? lo.toFixed(2) : `${lo.toFixed(2)}–${hi.toFixed(2)}`;
  };
  const b = g.base;
  const lines = [
    '# Simulated grid: sub-clients against the baseline at equal ε (private mechanisms only)',
    '',
    `\`${g.command}\``,
    '',
    `${b.hospitals} hospitals × ${b.slicesPerHospital} slices (${b.size}×${b.size}, every fifth patient held out), ${b.rounds} rounds, 1 local epoch, batch ${b.batchSize}, local AMSGrad lr ${b.learningRate}, ` +
      `FedAdam η_s = ${b.serverLearningRate}, clip rule ${b.clipRule ?? 'fixed'} (C${b.clipRule === 'quantile' ? '₀' : ''} = ${b.clip}), integer grid + discrete Gaussian, δ = ${b.delta}, RDP; ` +
      `seeds ${g.seeds.join(', ')}; TF.js ${g.backend}; ${runs.length} runs in ${(wall / 60).toFixed(1)} min (${mean(runs.map((r) => r.seconds)).toFixed(0)} s per run).`,
    '',
    'Accuracy = mean over hospitals of the global model on their held-out patients; "final" = after the last round, "last 5" = mean of the last five rounds. Mean ± sample std over seeds. ε after the last round, per patient (add/remove one patient\'s slices) and per hospital (anything in one hospital\'s data).',
    '',
    '| ε budget | strategy | arm | z | VN | final accuracy | last 5 rounds | ε per patient | ε per hospital |',
    '|---|---|---|---|---|---|---|---|---|',
    ...cells.map((c) => {
      const rs = of(c);
      return `| ${c.budget ?? '—'} | ${c.strategy} | ${ARM_LABEL[c.arm]} | ${c.z === 0 ? '—' : c.z.toFixed(2)} | ${c.vn} | ${pm(rs.map((r) => finalMetric(r.rows)))} | ${pm(rs.map((r) => tailMetric(r.rows)))} | ${fmtEps(rs.map((r) => r.rows.at(-1)!.epsilon_patient))} | ${fmtEps(rs.map((r) => r.rows.at(-1)!.epsilon_hospital))} |`;
    }),
    '',
    '## Sub-clients minus baseline at equal ε (paired by seed; last-5-rounds accuracy)',
    '',
    `Paired t-test on ${g.seeds.length} seeds, two-sided; p-values Holm-corrected over all ${g.budgets.length * g.strategies.length * 2} comparisons of the grid; "significant" = corrected p < 0.05.`,
    '',
    '| ε budget | strategy | comparison | Δ last 5 rounds | Δ final | t | p | Holm p | reading |',
    '|---|---|---|---|---|---|---|---|---|',
  ];
  const comparisons: { budget: number; strategy: StrategyName; arm: Arm; dTail: number[]; dFinal: number[]; t: number; p: number }[] = [];
  for (const budget of g.budgets) {
    for (const strategy of g.strategies) {
      const base = of({ budget, strategy, arm: 'baseline' });
      for (const arm of ['equal-patient', 'equal-hospital'] as const) {
        const pairs = of({ budget, strategy, arm }).map((r) => ({ a: r, b: base.find((x) => x.seed === r.seed)! }));
        const dTail = pairs.map((p) => tailMetric(p.a.rows) - tailMetric(p.b.rows));
        const dFinal = pairs.map((p) => finalMetric(p.a.rows) - finalMetric(p.b.rows));
        comparisons.push({ budget, strategy, arm, dTail, dFinal, ...pairedT(dTail) });
      }
    }
  }
  const adjusted = holm(comparisons.map((c) => c.p));
  comparisons.forEach((c, i) => {
    const q = adjusted[i]!;
    const reading = q < 0.05 ? `sub-clients ${c.t > 0 ? 'better' : 'worse'}` : 'no significant difference';
    lines.push(
      `| ${c.budget} | ${c.strategy} | ${c.arm === 'equal-patient' ? 'equal ε per patient' : 'equal ε per hospital'} | ${pm(c.dTail)} | ${pm(c.dFinal)} | ${Number.isFinite(c.t) ? c.t.toFixed(2) : '—'} | ${c.p.toFixed(3)} | ${q.toFixed(3)} | ${reading} |`,
    );
  });
  lines.push('', `Plots: ${g.strategies.map((s) => `grid-${s}.svg`).join(', ')}. Every run's rows: runs.jsonl.`, '');
  return lines.join('\n');
}
