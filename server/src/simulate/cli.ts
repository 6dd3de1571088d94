import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { VnRule } from '../adaptive-intermediary';
import { simulateFederation, type SimulatedRound } from './run-federation';
import { linePlotSvg } from './svg-plot';
import { nodeTrainingBackend } from './wasm-node';

const USAGE = `usage: npm run simulate -- --hospitals N --rounds R --strategy fedavg --z Z --vn K|adaptive --seed S [--json]
  [--clip C] [--size PX] [--slices-per-hospital N] [--batch-size B] [--learning-rate LR] [--delta D] [--out DIR]`;

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
    clip: { type: 'string', default: '1' },
    seed: { type: 'string', default: '0' },
    size: { type: 'string', default: '32' },
    'slices-per-hospital': { type: 'string', default: '120' },
    'batch-size': { type: 'string', default: '16' },
    'learning-rate': { type: 'string', default: '0.01' },
    delta: { type: 'string', default: '1e-5' },
    out: { type: 'string', default: 'bench-results/simulate' },
    json: { type: 'boolean', default: false },
  },
});

const positive = (name: string, v: string | undefined, integer = true): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) fail(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got ${v})`);
  return n;
};
if (a.strategy !== 'fedavg') {
  fail(`--strategy ${a.strategy} is not built yet; only fedavg (DP-FedAvg when --z > 0) runs today`);
}
const z = Number(a.z);
if (!(z >= 0)) fail(`--z must be ≥ 0 (got ${a.z})`);
const vn = a.vn === 'adaptive' ? ('adaptive' as const) : positive('vn', a.vn);
if (vn === 'adaptive' && z === 0) fail('--vn adaptive needs DP noise (--z > 0): the rule compares noise with the updates');
const isRule = (r: string | undefined): r is VnRule => r === 'default' || r === 'ada_stable' || r === 'ada_prog';
const rule = a['vn-rule'];
if (!isRule(rule)) fail(`--vn-rule must be default, ada_stable or ada_prog (got ${rule})`);

const backend = await nodeTrainingBackend();
const options = {
  hospitals: positive('hospitals', a.hospitals),
  rounds: positive('rounds', a.rounds),
  z,
  vn,
  vnRule: rule,
  clip: positive('clip', a.clip, false),
  seed: Number(a.seed),
  size: positive('size', a.size),
  slicesPerHospital: positive('slices-per-hospital', a['slices-per-hospital']),
  batchSize: positive('batch-size', a['batch-size']),
  learningRate: positive('learning-rate', a['learning-rate'], false),
  delta: positive('delta', a.delta, false),
};
const label = `fedavg z=${z} vn=${vn}${vn === 'adaptive' && rule !== 'default' ? `(${rule})` : ''} seed=${options.seed}`;
const started = Date.now();
const fmt = (v: number | null, digits = 3) => (v === null ? '—' : Number.isFinite(v) ? v.toFixed(digits) : '∞');
const rows: SimulatedRound[] = await simulateFederation({
  ...options,
  onRound: (r) => {
    if (!a.json) console.log(`round ${r.round}${r.probe ? ' (probe, discarded)' : ''}: accuracy ${fmt(r.metric)} · VN ${r.vn} · ε/hospital ${fmt(r.epsilon_hospital)}`);
  },
});

const table = [
  `| round | mean held-out accuracy | VN | clip C | σ on the average | ε per sub-client | ε per hospital |`,
  `|---|---|---|---|---|---|---|`,
  ...rows.map((r) => `| ${r.round}${r.probe ? ' (probe)' : ''} | ${fmt(r.metric)} | ${r.vn} | ${fmt(r.clip)} | ${r.sigma === null ? '—' : r.sigma.toExponential(2)} | ${fmt(r.epsilon_subclient)} | ${fmt(r.epsilon_hospital)} |`),
].join('\n');
const outDir = resolve(a.out!);
mkdirSync(outDir, { recursive: true });
const stem = `fedavg-z${z}-vn${vn}-seed${options.seed}`;
writeFileSync(
  resolve(outDir, `${stem}.md`),
  `# Simulated federation: ${label}\n\n${options.hospitals} hospitals, ${options.rounds} rounds, ${options.size}×${options.size}, ${options.slicesPerHospital} slices per hospital, δ = ${options.delta}, TF.js backend ${backend}, ${((Date.now() - started) / 1000).toFixed(0)} s.\n\n${table}\n`,
);
writeFileSync(
  resolve(outDir, `${stem}.svg`),
  linePlotSvg([{ name: label, points: rows.map((r) => ({ x: r.round, y: r.metric })) }], { title: 'Global model, mean held-out accuracy', xLabel: 'round', yLabel: 'accuracy' }),
);
if (a.json) {
  console.log(JSON.stringify({ rounds: rows.map(({ probe: _p, ...r }) => r) }));
} else {
  console.log(`\n${table}\n\nwrote ${resolve(outDir, stem)}.{md,svg} (backend ${backend}, ${((Date.now() - started) / 1000).toFixed(0)} s)`);
}
