import { mkdirSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  PERSONALIZATION_STRATEGIES,
  simulatePersonalization,
  summarizeCurves,
  type CurvePoint,
  type PersonalizationCurves,
  type PersonalizationStrategy,
} from './personalization';
import { linePlotSvg } from './svg-plot';
import { nodeTrainingBackend } from '@fedward/wasm-training/node';

const USAGE = `usage: npm run simulate:personalization -- --strategies fedavg,fedbn,prr-fl --hospitals 4 --rounds R --local-epochs E --seed S [--json]
  [--size PX] [--slices-per-hospital N] [--batch-size B] [--learning-rate LR] [--width W]
  [--normalization unit|zscore] [--l-rate 0.7] [--difficulty hard|easy] [--out DIR]`;

function fail(message: string): never {
  console.error(`simulate:personalization: ${message}\n${USAGE}`);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    options: {
      strategies: { type: 'string', default: PERSONALIZATION_STRATEGIES.join(',') },
      hospitals: { type: 'string', default: '4' },
      rounds: { type: 'string', default: '5' },
      'local-epochs': { type: 'string', default: '4' },
      seed: { type: 'string', default: '0' },
      size: { type: 'string', default: '32' },
      'slices-per-hospital': { type: 'string', default: '160' },
      'batch-size': { type: 'string', default: '16' },
      'learning-rate': { type: 'string', default: '0.05' },
      width: { type: 'string', default: '8' },
      normalization: { type: 'string', default: 'unit' },
      'l-rate': { type: 'string', default: '0.7' },
      difficulty: { type: 'string', default: 'hard' },
      out: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
} catch (e) {
  fail((e as Error).message);
}
const a = parsed.values;

const positive = (name: string, v: string | undefined, integer = true): number => {
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0 || (integer && !Number.isInteger(n))) fail(`--${name} must be a positive ${integer ? 'integer' : 'number'} (got ${v})`);
  return n;
};
const strategies = a.strategies!.split(',').map((s) => s.trim());
for (const s of strategies) if (!PERSONALIZATION_STRATEGIES.includes(s as PersonalizationStrategy)) fail(`unknown strategy "${s}" (fedavg, fedbn, prr-fl)`);
if (new Set(strategies).size !== strategies.length) fail('--strategies lists a strategy twice');
const normalization = a.normalization;
if (normalization !== 'unit' && normalization !== 'zscore') fail(`--normalization must be unit or zscore (got ${normalization})`);
const difficulty = a.difficulty;
if (difficulty !== 'hard' && difficulty !== 'easy') fail(`--difficulty must be hard or easy (got ${difficulty})`);
const seed = Number(a.seed);
if (!Number.isInteger(seed) || seed < 0) fail(`--seed must be a non-negative integer (got ${a.seed})`);
const lRate = Number(a['l-rate']);
if (!(lRate > 0 && lRate < 1)) fail(`--l-rate must be in (0, 1) (got ${a['l-rate']})`);

const options = {
  strategies: strategies as PersonalizationStrategy[],
  hospitals: positive('hospitals', a.hospitals),
  rounds: positive('rounds', a.rounds),
  localEpochs: positive('local-epochs', a['local-epochs']),
  seed,
  size: positive('size', a.size),
  slicesPerHospital: positive('slices-per-hospital', a['slices-per-hospital']),
  batchSize: positive('batch-size', a['batch-size']),
  learningRate: positive('learning-rate', a['learning-rate'], false),
  width: positive('width', a.width),
  normalization,
  lRate,
  difficulty,
} as const;

const backend = await nodeTrainingBackend();
const started = Date.now();
const pct = (v: number) => (Number.isFinite(v) ? (100 * v).toFixed(1) : '—');
let curves: PersonalizationCurves;
try {
  curves = await simulatePersonalization({
    ...options,
    onPoint: (strategy, p) => {
      if (a.json) return;
      const where = p.after_communication ? `round ${p.round} after communication` : `round ${p.round} epoch ${p.epoch}`;
      const stages = p.stages ? ` · DET stages ${p.stages.join('')}` : '';
      console.log(`${strategy.padEnd(6)} ${where}: accuracy ${pct(p.metric)} % · macro-F1 ${pct(p.macro_f1)} %${stages}`);
    },
  });
} catch (e) {
  console.error(`simulate:personalization: ${(e as Error).message}`);
  process.exit(1);
}
const seconds = (Date.now() - started) / 1000;

const ran = options.strategies.filter((s) => curves[s]);
const table = [
  '| strategy | final accuracy (after the last communication) | final macro-F1 | last local epoch: accuracy / macro-F1 | mean change right after communication: accuracy | macro-F1 | worst accuracy change |',
  '|---|---|---|---|---|---|---|',
  ...ran.map((s) => {
    const r = summarizeCurves(curves[s]);
    const signed = (v: number) => (Number.isFinite(v) ? `${v > 0 ? '−' : '+'}${Math.abs(100 * v).toFixed(1)}` : '—');
    return `| ${s} | ${pct(r.finalAccuracy)} % | ${pct(r.finalF1)} % | ${pct(r.lastLocalAccuracy)} % / ${pct(r.lastLocalF1)} % | ${signed(r.meanDropAccuracy)} pts | ${signed(r.meanDropF1)} pts | ${signed(r.worstDropAccuracy)} pts |`;
  }),
].join('\n');

/** x = round + epoch/E, so the point after communication sits on the last epoch's x: a drop is a vertical segment. */
const series = (key: 'metric' | 'macro_f1') =>
  ran.map((s) => ({ name: s, points: curves[s].map((p: CurvePoint) => ({ x: p.round + p.epoch / options.localEpochs, y: p[key] })) }));
const outDir = resolve(a.out ?? 'bench-results/simulate/personalization');
mkdirSync(outDir, { recursive: true });
const stem = `retrogress-h${options.hospitals}-r${options.rounds}-e${options.localEpochs}-seed${seed}`;
const command = `npm run simulate:personalization -- ${process.argv.slice(2).join(' ')}`;
const details = `${options.hospitals} hospitals, ${options.rounds} rounds × ${options.localEpochs} local epochs, ${options.size}×${options.size} (${normalization}), ${options.slicesPerHospital} slices per hospital, vgg-slim width ${options.width}, SGD lr ${options.learningRate}·0.5^⌊round/5⌋ (weight decay 1e-6, batch ${options.batchSize}), PFA l_rate ${lRate}, TF.js backend ${backend}, ${seconds.toFixed(0)} s.`;
writeFileSync(
  resolve(outDir, `${stem}.md`),
  `# Retrogress: ${ran.join(' vs ')}\n\n\`${command}\`\n\n${details}\n\nMean over hospitals of each hospital's held-out accuracy / macro-F1. "Change right after communication" is the mean over rounds of (right after the server's result arrived − that round's last local epoch); the worst is the most negative.\n\n${table}\n\n![accuracy](${stem}-accuracy.svg) ![macro-F1](${stem}-f1.svg)\n`,
);
writeFileSync(resolve(outDir, `${stem}-accuracy.svg`), linePlotSvg(series('metric'), { title: 'Mean held-out accuracy (vertical step = communication)', xLabel: 'round (fraction = local epoch)', yLabel: 'accuracy' }));
writeFileSync(resolve(outDir, `${stem}-f1.svg`), linePlotSvg(series('macro_f1'), { title: 'Mean held-out macro-F1 (vertical step = communication)', xLabel: 'round (fraction = local epoch)', yLabel: 'macro-F1' }));

if (a.json) {
  const strip = (p: CurvePoint) => ({ round: p.round, epoch: p.epoch, metric: p.metric, macro_f1: p.macro_f1, after_communication: p.after_communication });
  console.log(JSON.stringify({ strategies: Object.fromEntries(ran.map((s) => [s, curves[s].map(strip)])) }));
} else {
  console.log(`\n${table}\n\nwrote ${resolve(outDir, stem)}.md, -accuracy.svg, -f1.svg (backend ${backend}, ${seconds.toFixed(0)} s)`);
}
