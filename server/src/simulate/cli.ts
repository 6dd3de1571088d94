import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { VnRule } from '../adaptive-intermediary';
import type { ClipRuleName, StrategyName } from '../dp';
import type { FederationDifficulty } from '@fedward/data';
import { DP_SGD_ACCOUNTANT_LABELS, SECAGG_STAGES, type SecAggStage } from '@fedward/protocol';
import { createModel } from '@fedward/models';
import { runGrid } from './grid';
import { simulateFederation, type SimulatedRound } from './run-federation';
import { linePlotSvg } from './svg-plot';
import { nodeTrainingBackend } from '@fedward/wasm-training/node';

const USAGE = `usage: npm run simulate -- --hospitals N --rounds R --strategy fedavg|fedadam|fednova --z Z --vn K|heuristic|adaptive --seed S [--json]
  [--clip-rule fixed|median|quantile] [--clip C] [--median-cap 25] [--count-noise σ_b] [--target-quantile γ]
  [--server-lr η_s] [--vn-rule default|ada_stable|ada_prog] [--size PX] [--slices-per-hospital N]
  [--batch-size B] [--learning-rate LR] [--delta D] [--difficulty hard|easy] [--out DIR]
  [--secagg --secagg-threshold T [--drop K] [--drop-stage advertise|share|mask|reveal]] [--dp-sgd-noise σ [--dp-sgd-clip C]
  [--dp-sgd-sampling poisson|uniform] [--dp-sgd-reduction sum|mean]]
  npm run simulate -- --grid [--grid-epsilon 4,16] [--grid-seeds 0,1,2,3,4,5] [--resume] [same size flags]`;

function fail(message: string): never {
  console.error(`simulate: ${message}\n${USAGE}`);
  process.exit(2);
}

const { values: a } = parseArgs({
  options: {
    hospitals: { type: 'string', default: '4' },
    rounds: { type: 'string', default: '10' },
    strategy: { type: 'string', default: 'fedavg' },
    z: { type: 'string', default: '0' },
    vn: { type: 'string', default: '1' },
    'vn-rule': { type: 'string', default: 'default' },
    'clip-rule': { type: 'string', default: 'fixed' },
    clip: { type: 'string', default: '1' },
    'median-cap': { type: 'string', default: '25' },
    'count-noise': { type: 'string' },
    'target-quantile': { type: 'string', default: '0.5' },
    'server-lr': { type: 'string', default: '0.01' },
    seed: { type: 'string', default: '0' },
    size: { type: 'string', default: '32' },
    'slices-per-hospital': { type: 'string', default: '120' },
    'batch-size': { type: 'string', default: '16' },
    'learning-rate': { type: 'string', default: '0.01' },
    delta: { type: 'string', default: '1e-5' },
    difficulty: { type: 'string', default: 'hard' },
    out: { type: 'string' },
    json: { type: 'boolean', default: false },
    grid: { type: 'boolean', default: false },
    'grid-epsilon': { type: 'string', default: '4,16' },
    'grid-seeds': { type: 'string', default: '0,1,2,3,4,5' },
    resume: { type: 'boolean', default: false },
    secagg: { type: 'boolean', default: false },
    'secagg-threshold': { type: 'string' },
    drop: { type: 'string', default: '0' },
    'drop-stage': { type: 'string', default: 'mask' },
    'dp-sgd-noise': { type: 'string' },
    'dp-sgd-clip': { type: 'string', default: '1' },
    'dp-sgd-sampling': { type: 'string', default: 'poisson' },
    'dp-sgd-reduction': { type: 'string', default: 'sum' },
  },
});

const positive = (name: string, v: string | undefined, integer = true): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) fail(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got ${v})`);
  return n;
};
const STRATEGIES = ['fedavg', 'fedadam', 'fednova'] as const;
const isStrategy = (s: string | undefined): s is StrategyName => STRATEGIES.includes(s as StrategyName);
const isClipRule = (s: string | undefined): s is ClipRuleName => s === 'fixed' || s === 'median' || s === 'quantile';
const isRule = (r: string | undefined): r is VnRule => r === 'default' || r === 'ada_stable' || r === 'ada_prog';
const strategy = a.strategy;
if (!isStrategy(strategy)) fail(`--strategy must be fedavg, fedadam or fednova (got ${strategy})`);
const clipRule = a['clip-rule'];
if (!isClipRule(clipRule)) fail(`--clip-rule must be fixed, median or quantile (got ${clipRule})`);
const rule = a['vn-rule'];
if (!isRule(rule)) fail(`--vn-rule must be default, ada_stable or ada_prog (got ${rule})`);
const isDifficulty = (d: string | undefined): d is FederationDifficulty => d === 'hard' || d === 'easy';
const difficulty = a.difficulty;
if (!isDifficulty(difficulty)) fail(`--difficulty must be hard or easy (got ${difficulty})`);
const z = Number(a.z);
if (!(z >= 0)) fail(`--z must be ≥ 0 (got ${a.z})`);
const vn: number | 'heuristic' | 'adaptive' = a.vn === 'adaptive' || a.vn === 'heuristic' ? a.vn : positive('vn', a.vn);
if (typeof vn === 'string' && z === 0 && !a.grid) fail(`--vn ${vn} needs DP noise (--z > 0): both rules are about the noise`);
const countNoise = a['count-noise'] === undefined ? undefined : Number(a['count-noise']);
if (countNoise !== undefined && !(countNoise >= 0)) fail(`--count-noise must be ≥ 0 (got ${a['count-noise']})`);
const dropStage = a['drop-stage'];
const isStage = (v: string | undefined): v is SecAggStage => (SECAGG_STAGES as readonly string[]).includes(v ?? '');
if (!isStage(dropStage)) fail(`--drop-stage must be one of ${SECAGG_STAGES.join(', ')} (got ${dropStage})`);
let secagg: { threshold: number; drop: number; dropStage: SecAggStage } | undefined;
if (a.secagg) {
  if (!(z > 0)) fail('--secagg needs DP (--z > 0): the server unmasks the sum and noises it as without secure aggregation');
  if (clipRule === 'median') fail('--secagg needs the fixed or quantile clip: the server never sees single update norms');
  if (a['secagg-threshold'] === undefined) fail('--secagg needs --secagg-threshold T (the participants needed to unmask the sum)');
  const threshold = positive('secagg-threshold', a['secagg-threshold']);
  const drop = Number(a.drop);
  if (!Number.isInteger(drop) || drop < 0) fail(`--drop must be a whole number ≥ 0 (got ${a.drop})`);
  secagg = { threshold, drop, dropStage };
} else if (a['secagg-threshold'] !== undefined || a.drop !== '0') fail('--secagg-threshold and --drop need --secagg');
// An error inside TF.js's WebAssembly module would otherwise print the whole module's source.
process.on('uncaughtException', (e) => {
  console.error(`simulate: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  process.exit(1);
});

const backend = await nodeTrainingBackend();
const base = {
  hospitals: positive('hospitals', a.hospitals),
  rounds: positive('rounds', a.rounds),
  vnRule: rule,
  clipRule,
  clip: positive('clip', a.clip, false),
  medianCap: positive('median-cap', a['median-cap'], false),
  countNoise,
  targetQuantile: Number(a['target-quantile']),
  serverLearningRate: positive('server-lr', a['server-lr'], false),
  size: positive('size', a.size),
  slicesPerHospital: positive('slices-per-hospital', a['slices-per-hospital']),
  batchSize: positive('batch-size', a['batch-size']),
  learningRate: positive('learning-rate', a['learning-rate'], false),
  delta: positive('delta', a.delta, false),
  difficulty,
};

if (a.grid) {
  const list = (name: string, v: string) => v.split(',').map((x) => (x.trim() === '' ? fail(`--${name}: empty entry`) : Number(x)));
  const budgets = list('grid-epsilon', a['grid-epsilon']!);
  if (budgets.some((x) => !(x > 0))) fail('--grid-epsilon takes the positive ε budgets (no DP is always included)');
  if (clipRule === 'median') fail('the grid compares private mechanisms only: use --clip-rule fixed or quantile');
  const seeds = list('grid-seeds', a['grid-seeds']!);
  const out = resolve(a.out ?? 'bench-results/simulate/grid');
  const started = Date.now();
  const probe = createModel({ kind: 'small-cnn', inputSize: base.size, channels: 1, numClasses: 2, seed: 0, normalization: 'zscore' });
  const dimension = probe.getWeights().reduce((n, t) => n + t.values.length, 0);
  probe.dispose();
  await runGrid(
    { base, budgets, strategies: [...STRATEGIES], seeds, out, resume: a.resume!, backend, command: `npm run simulate -- ${process.argv.slice(2).join(' ')}` },
    dimension,
  );
  console.log(`wrote ${out}/summary.md, grid-{${STRATEGIES.join(',')}}.svg and runs.jsonl (${((Date.now() - started) / 60000).toFixed(1)} min, backend ${backend})`);
  process.exit(0);
}

if (secagg && (secagg.threshold < 2 || secagg.threshold > base.hospitals)) fail(`--secagg-threshold must be between 2 and --hospitals (${base.hospitals}); got ${secagg.threshold}`);
const isSampling = (s: string | undefined): s is 'poisson' | 'uniform' => s === 'poisson' || s === 'uniform';
const isReduction = (s: string | undefined): s is 'sum' | 'mean' => s === 'sum' || s === 'mean';
const dpSgdSampling = a['dp-sgd-sampling'];
if (!isSampling(dpSgdSampling)) fail(`--dp-sgd-sampling must be poisson or uniform (got ${dpSgdSampling})`);
const dpSgdReduction = a['dp-sgd-reduction'];
if (!isReduction(dpSgdReduction)) fail(`--dp-sgd-reduction must be sum or mean (got ${dpSgdReduction})`);
const dpSgd =
  a['dp-sgd-noise'] === undefined
    ? undefined
    : { noiseMultiplier: positive('dp-sgd-noise', a['dp-sgd-noise'], false), clip: positive('dp-sgd-clip', a['dp-sgd-clip'], false), sampling: dpSgdSampling, reduction: dpSgdReduction };
const options = { ...base, z, vn, strategy, seed: Number(a.seed), ...(secagg && { secagg }), ...(dpSgd && { dpSgd }) };
const label = `${strategy} z=${z} vn=${vn}${vn === 'adaptive' && rule !== 'default' ? `(${rule})` : ''}${z > 0 ? ` clip=${clipRule}` : ''} seed=${options.seed}`;
const started = Date.now();
const fmt = (v: number | null, digits = 3) => (v === null ? '—' : Number.isFinite(v) ? v.toFixed(digits) : '∞');
const rows: SimulatedRound[] = await simulateFederation({
  ...options,
  onRound: (r) => {
    if (a.json) return;
    console.log(
      `round ${r.round}${r.probe ? ' (probe, discarded)' : ''}: accuracy ${fmt(r.metric)} · VN ${r.vn} · C ${fmt(r.clip)} · ε per patient ${fmt(r.epsilon_patient)} / per hospital ${fmt(r.epsilon_hospital)}` +
        (r.dpSgdEpsilon !== undefined ? ` · DP-SGD ε per patient (largest hospital; ${DP_SGD_ACCOUNTANT_LABELS[dpSgdSampling]}) ${fmt(r.dpSgdEpsilon)}` : ''),
    );
    for (const f of r.secagg?.failed ?? []) console.log(`  secure aggregation: ${f.reason}; the round was redone`);
    if (r.secagg) console.log(`  secure aggregation: ${r.secagg.participants} hospitals, threshold ${r.secagg.threshold}, ${r.secagg.dropped} dropped, completed`);
  },
});

const table = [
  `| round | mean held-out accuracy | VN | clip C | σ on the average | λ̃ (noised) | ε per patient | ε per hospital |`,
  `|---|---|---|---|---|---|---|---|`,
  ...rows.map(
    (r) =>
      `| ${r.round}${r.probe ? ' (probe)' : ''} | ${fmt(r.metric)} | ${r.vn} | ${fmt(r.clip)} | ${r.sigma === null ? '—' : r.sigma.toExponential(2)} | ${r.lambda === null ? '—' : r.lambda.toExponential(2)} | ${fmt(r.epsilon_patient)} | ${fmt(r.epsilon_hospital)} |`,
  ),
].join('\n');
const outDir = resolve(a.out ?? 'bench-results/simulate');
mkdirSync(outDir, { recursive: true });
const stem = `${strategy}-z${z}-vn${vn}${z > 0 ? `-${clipRule}` : ''}-seed${options.seed}`;
writeFileSync(
  resolve(outDir, `${stem}.md`),
  `# Simulated federation: ${label}\n\n${options.hospitals} hospitals (${difficulty} task), ${options.rounds} rounds, ${options.size}×${options.size}, ${options.slicesPerHospital} slices per hospital, δ = ${options.delta}, TF.js backend ${backend}, ${((Date.now() - started) / 1000).toFixed(0)} s.\n\n${table}\n`,
);
writeFileSync(
  resolve(outDir, `${stem}.svg`),
  linePlotSvg([{ name: label, points: rows.map((r) => ({ x: r.round, y: r.metric })) }], { title: 'Global model, mean held-out accuracy', xLabel: 'round', yLabel: 'accuracy' }),
);
if (a.json) {
  console.log(JSON.stringify({ rounds: rows.map((r) => ({ round: r.round, metric: r.metric, vn: r.vn, updates: r.updates, clip: r.clip, sigma: r.sigma, epsilon_patient: r.epsilon_patient, epsilon_hospital: r.epsilon_hospital, ...(r.secagg && { secagg: r.secagg }), ...(r.dpSgdEpsilon !== undefined && { dp_sgd_epsilon: r.dpSgdEpsilon }) })) }));
} else {
  console.log(`\n${table}\n\nwrote ${resolve(outDir, stem)}.{md,svg} (backend ${backend}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
