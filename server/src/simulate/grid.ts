import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { StrategyName } from '../dp';
import { simulateFederation, type SimulatedRound, type SimulationOptions } from './run-federation';
import { linePlotSvg } from './svg-plot';

/**
 * The paper's Table 1 grid at simulator size: {no DP, z₁, z₂, z₃} × {FedAvg, FedAdam, FedNova} ×
 * {baseline VN = 1, + adaptive intermediary} (adaptive only with DP), `seeds` seeds each, run one
 * after the other in this process (no worker: the machine is shared). Each finished run is
 * appended to runs.jsonl, so `resume` skips what is already there.
 */
export interface GridOptions {
  base: Omit<SimulationOptions, 'z' | 'vn' | 'strategy' | 'seed' | 'onRound'>;
  zs: number[];
  strategies: StrategyName[];
  seeds: number[];
  out: string;
  resume: boolean;
  command: string;
  backend: string;
  log?: (line: string) => void;
}

export interface GridRun {
  key: string;
  z: number;
  strategy: StrategyName;
  arm: 'baseline' | 'adaptive';
  seed: number;
  seconds: number;
  rows: SimulatedRound[];
}

interface Cell {
  z: number;
  strategy: StrategyName;
  arm: 'baseline' | 'adaptive';
}

/** Two-sided 5% critical values of Student's t for 1…10 degrees of freedom. */
const T_CRITICAL_5 = [12.71, 4.3, 3.18, 2.78, 2.57, 2.45, 2.36, 2.31, 2.26, 2.23];
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
/** The best held-out accuracy of any released (non-probe) round: optimistic, as model selection on the test set would be. */
export function bestMetric(rows: readonly SimulatedRound[]): number {
  return Math.max(...rows.filter((r) => !r.probe).map((r) => r.metric));
}

export async function runGrid(g: GridOptions): Promise<GridRun[]> {
  const log = g.log ?? ((line: string) => console.error(line));
  mkdirSync(g.out, { recursive: true });
  const jsonl = resolve(g.out, 'runs.jsonl');
  const done = new Map<string, GridRun>();
  if (g.resume && existsSync(jsonl)) {
    for (const line of readFileSync(jsonl, 'utf8').split('\n')) if (line.trim()) {
      const run = JSON.parse(line) as GridRun;
      done.set(run.key, run);
    }
  } else {
    writeFileSync(jsonl, '');
  }
  const cells: Cell[] = g.zs.flatMap((z) => g.strategies.flatMap((strategy) => (z > 0 ? (['baseline', 'adaptive'] as const) : (['baseline'] as const)).map((arm) => ({ z, strategy, arm }))));
  const started = Date.now();
  const runs: GridRun[] = [];
  const total = cells.length * g.seeds.length;
  for (const cell of cells) {
    for (const seed of g.seeds) {
      const options: Omit<SimulationOptions, 'onRound'> = { ...g.base, z: cell.z, strategy: cell.strategy, vn: cell.arm === 'adaptive' ? 'adaptive' : 1, seed };
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
        `[${runs.length}/${total}] z=${cell.z} ${cell.strategy} ${cell.arm} seed ${seed}: final ${finalMetric(run.rows).toFixed(3)}, best ${bestMetric(run.rows).toFixed(3)}, VN ${run.rows.at(-1)!.vn} (${run.seconds.toFixed(0)} s; ${((Date.now() - started) / 1000).toFixed(0)} s so far)`,
      );
    }
  }
  const wall = (Date.now() - started) / 1000;
  writeFileSync(resolve(g.out, 'summary.md'), summarize(g, cells, runs, wall));
  for (const strategy of g.strategies) {
    const series = cells
      .filter((c) => c.strategy === strategy)
      .map((c) => {
        const mine = runs.filter((r) => r.z === c.z && r.strategy === c.strategy && r.arm === c.arm);
        const rounds = mine[0]!.rows.length;
        return {
          name: `${c.z === 0 ? 'no DP' : `z=${c.z}`}${c.arm === 'adaptive' ? ' +adaptive' : ''}`,
          points: Array.from({ length: rounds }, (_, t) => ({ x: t, y: mean(mine.map((r) => r.rows[t]!.metric)) })),
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
  const of = (c: Cell) => runs.filter((r) => r.z === c.z && r.strategy === c.strategy && r.arm === c.arm);
  const fmtEps = (v: readonly (number | null)[]) => {
    const xs = v.filter((x): x is number => x !== null);
    if (xs.length === 0) return '—';
    const lo = Math.min(...xs);
    const hi = Math.max(...xs);
    return Math.abs(hi - lo) < 0.05 ? lo.toFixed(1) : `${lo.toFixed(1)}–${hi.toFixed(1)}`;
  };
  const b = g.base;
  const lines = [
    '# Simulated grid: client-level DP with and without the adaptive intermediary',
    '',
    `\`${g.command}\``,
    '',
    `${b.hospitals} hospitals × ${b.slicesPerHospital} slices (${b.size}×${b.size}, every fifth patient held out), ${b.rounds} rounds, 1 local epoch, batch ${b.batchSize}, local AMSGrad lr ${b.learningRate}, ` +
      `FedAdam η_s = ${b.serverLearningRate}, clip rule ${b.clipRule ?? 'fixed'}${(b.clipRule ?? 'fixed') === 'median' ? ` (C = min(lower median, ${b.medianCap ?? 25}); not private)` : ` (C = ${b.clip})`}, δ = ${b.delta}, RDP; ` +
      `seeds ${g.seeds.join(', ')}; TF.js ${g.backend}; ${runs.length} runs in ${(wall / 60).toFixed(1)} min (${mean(runs.map((r) => r.seconds)).toFixed(0)} s per run).`,
    '',
    'Accuracy = mean over hospitals of the global model on their held-out patients; "final" = after the last round, "last 5" = mean of the last five rounds, "best" = the best released round (optimistic: chosen on the test set). Mean ± sample std over seeds. ε after the last round (the adaptive arm also pays for its probe round); per hospital a hospital is VN sub-clients (multiplier z/VN).',
    '',
    '| z | strategy | arm | final accuracy | last 5 rounds | best accuracy | ε per sub-client | ε per hospital | final VN (per seed) |',
    '|---|---|---|---|---|---|---|---|---|',
    ...cells.map((c) => {
      const rs = of(c);
      return `| ${c.z === 0 ? 'no DP' : c.z} | ${c.strategy} | ${c.arm === 'adaptive' ? '+ adaptive' : 'baseline (VN 1)'} | ${pm(rs.map((r) => finalMetric(r.rows)))} | ${pm(rs.map((r) => tailMetric(r.rows)))} | ${pm(rs.map((r) => bestMetric(r.rows)))} | ${fmtEps(rs.map((r) => r.rows.at(-1)!.epsilon_subclient))} | ${fmtEps(rs.map((r) => r.rows.at(-1)!.epsilon_hospital))} | ${rs.map((r) => r.rows.at(-1)!.vn).join(', ')} |`;
    }),
    '',
    '## Adaptive intermediary minus baseline (same z, same strategy, paired by seed)',
    '',
    '| z | strategy | Δ final accuracy | Δ last 5 rounds | Δ best accuracy | t (final) | t (last 5) | reading (paired t, two-sided 5%) |',
    '|---|---|---|---|---|---|---|---|',
  ];
  for (const c of cells.filter((x) => x.arm === 'adaptive')) {
    const ad = of(c);
    const base = of({ ...c, arm: 'baseline' });
    const pairs = ad.map((r) => ({ a: r, b: base.find((x) => x.seed === r.seed)! }));
    const dFinal = pairs.map((p) => finalMetric(p.a.rows) - finalMetric(p.b.rows));
    const dTail = pairs.map((p) => tailMetric(p.a.rows) - tailMetric(p.b.rows));
    const dBest = pairs.map((p) => bestMetric(p.a.rows) - bestMetric(p.b.rows));
    const tOf = (d: number[]) => {
      const se = std(d) / Math.sqrt(d.length);
      return se > 0 ? mean(d) / se : Number.NaN;
    };
    // Paired t-test, two-sided 5%: with 3 seeds (2 degrees of freedom) |t| must pass 4.30.
    const critical = T_CRITICAL_5[dFinal.length - 2] ?? 1.96;
    const verdict = (d: number[], what: string) => {
      const t = tOf(d);
      if (!Number.isFinite(t)) return mean(d) === 0 ? `${what}: identical` : `${what}: no spread`;
      return Math.abs(t) >= critical ? `${what}: adaptive ${t > 0 ? 'better' : 'worse'} (p < 0.05)` : `${what}: within noise`;
    };
    const fmtT = (d: number[]) => (Number.isFinite(tOf(d)) ? tOf(d).toFixed(2) : '—');
    lines.push(`| ${c.z} | ${c.strategy} | ${pm(dFinal)} | ${pm(dTail)} | ${pm(dBest)} | ${fmtT(dFinal)} | ${fmtT(dTail)} | ${verdict(dFinal, 'final')}; ${verdict(dTail, 'last 5')} |`);
  }
  lines.push('', `Plots: ${g.strategies.map((s) => `grid-${s}.svg`).join(', ')}. Every run's rows: runs.jsonl.`, '');
  return lines.join('\n');
}
