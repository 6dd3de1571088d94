/**
 * npm run bench:demo -- [--seeds 1,2,3] [--rounds 10] [--arms name,…] [--out DIR] [--json]
 *
 * Does the demo task show what a federation is for? Runs whole federations (the real server,
 * Node hospitals, `npm run federate -- --node`) on the generated task for each arm and seed and
 * prints the final held-out accuracy per arm: the easy task against the hard default, one, three
 * and six hospitals, DP on and off, and the personalization strategies.
 *
 * Accuracy is the round's accuracy as the server reports it (one vote per hospital: each hospital's
 * own held-out patients), so arms with different hospitals are measured on different slices: read
 * the hospital-count rows with that in mind.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

interface Arm {
  name: string;
  what: string;
  args: string[];
}

const DP_SGD_TASK = ['--hospitals', '3', '--slices-per-hospital', '480', '--epochs', '1'] as const;

const ARMS: readonly Arm[] = [
  { name: 'easy-3', what: 'easy task (before), 3 hospitals, FedAvg', args: ['--hospitals', '3', '--difficulty', 'easy'] },
  { name: 'hard-3', what: 'hard task (the demo), 3 hospitals, FedAvg', args: ['--hospitals', '3'] },
  { name: 'hard-1', what: 'hard task, 1 hospital alone', args: ['--hospitals', '1'] },
  { name: 'hard-6', what: 'hard task, 6 hospitals, FedAvg', args: ['--hospitals', '6'] },
  {
    name: 'hard-6-dp',
    what: 'hard task, 6 hospitals, DP-FedAvg z = 1, C = 1, one update per hospital (budget raised to ε = 100 so every round runs)',
    args: ['--hospitals', '6', '--dp-noise', '1', '--dp-clip', '1', '--dp-vn', '1', '--dp-epsilon', '100'],
  },
  // DP-SGD inside each hospital (deepee's result shape: accuracy against σ at C = 1) on more patients per hospital
  // (480 slices) and one local epoch, so that q = batch/patients is small; the budget is raised so the watchdog never
  // stops a hospital, and the local ε per patient is reported instead.
  { name: 'sgd-plain', what: 'hard task, 3 hospitals, 480 slices each, 1 local epoch, no DP (the DP-SGD arms’ baseline)', args: [...DP_SGD_TASK] },
  { name: 'dp-sgd-1', what: 'as sgd-plain, DP-SGD σ = 1, C = 1 (Poisson, per patient)', args: [...DP_SGD_TASK, '--dp-sgd-noise', '1', '--dp-sgd-clip', '1', '--dp-sgd-epsilon', '1000'] },
  { name: 'dp-sgd-3', what: 'as sgd-plain, DP-SGD σ = 3, C = 1 (Poisson, per patient)', args: [...DP_SGD_TASK, '--dp-sgd-noise', '3', '--dp-sgd-clip', '1', '--dp-sgd-epsilon', '1000'] },
  { name: 'vgg-fedavg', what: 'hard task, 3 hospitals, vgg-slim, FedAvg', args: ['--hospitals', '3', '--model', 'vgg-slim'] },
  { name: 'vgg-fedbn', what: 'hard task, 3 hospitals, vgg-slim, FedBN', args: ['--hospitals', '3', '--model', 'vgg-slim', '--personalization', 'fedbn'] },
  { name: 'vgg-prr-fl', what: 'hard task, 3 hospitals, vgg-slim, PRR-FL', args: ['--hospitals', '3', '--model', 'vgg-slim', '--personalization', 'prr-fl'] },
  // PRECODE's variational bottleneck (issue 18): its accuracy cost against hard-3, the same task with plain small-cnn.
  { name: 'vb', what: 'as hard-3, small-cnn-vb (PRECODE bottleneck, defaults K = 16, β = 1e-3)', args: ['--hospitals', '3', '--model', 'small-cnn-vb'] },
  { name: 'vb-beta-0.1', what: 'as vb, β = 0.1 (100× the KL weight)', args: ['--hospitals', '3', '--model', 'small-cnn-vb', '--vb-beta', '0.1'] },
  // PRECODE combined with a release (the audit's --model small-cnn-vb --defence dp|dp-sgd): against hard-6-dp and dp-sgd-1.
  // Secure aggregation changes what the server sees, not the sum, so PRECODE + secagg trains as vb-6-dp does.
  { name: 'vb-6-dp', what: 'as hard-6-dp, small-cnn-vb (PRECODE + client-level DP)', args: ['--hospitals', '6', '--model', 'small-cnn-vb', '--dp-noise', '1', '--dp-clip', '1', '--dp-vn', '1', '--dp-epsilon', '100'] },
  { name: 'vb-dp-sgd-1', what: 'as dp-sgd-1, small-cnn-vb (PRECODE + DP-SGD)', args: [...DP_SGD_TASK, '--model', 'small-cnn-vb', '--dp-sgd-noise', '1', '--dp-sgd-clip', '1', '--dp-sgd-epsilon', '1000'] },
  { name: 'vb-k256', what: 'as vb, K = 256 (the paper’s K, on features 16 wide)', args: ['--hospitals', '3', '--model', 'small-cnn-vb', '--vb-k', '256'] },
];

const USAGE = `usage: npm run bench:demo -- [--seeds 1,2,3] [--rounds 10] [--arms ${ARMS.map((a) => a.name).join(',')}] [--out DIR] [--json]`;

function fail(message: string): never {
  console.error(`bench:demo: ${message}\n${USAGE}`);
  process.exit(2);
}

let values;
try {
  ({ values } = parseArgs({
    options: {
      seeds: { type: 'string', default: '1,2,3' },
      rounds: { type: 'string', default: '10' },
      arms: { type: 'string', default: ARMS.map((a) => a.name).join(',') },
      out: { type: 'string', default: 'bench-results/demo-effects' },
      json: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  }));
} catch (e) {
  fail((e as Error).message);
}
if (values.help) {
  console.log(USAGE);
  process.exit(0);
}
const seeds = values.seeds.split(',').map((s) => {
  const n = Number(s);
  if (!Number.isInteger(n) || n < 0) fail(`--seeds takes non-negative integers (got "${s}")`);
  return n;
});
const rounds = Number(values.rounds);
if (!Number.isInteger(rounds) || rounds < 1) fail(`--rounds must be a positive integer (got "${values.rounds}")`);
const arms = values.arms.split(',').map((name) => ARMS.find((a) => a.name === name) ?? fail(`unknown arm "${name}"`));
const out = resolve(process.env.INIT_CWD ?? process.cwd(), values.out);

interface Report {
  final: { accuracy: number | null } | null;
  initial: { accuracy: number | null } | null;
  rounds: Array<{ accuracy: number | null; epsilon: { patient: number; hospital: number } | null; participants: { dpSgdEpsilon?: number }[] }>;
  wallMs: number;
}

function federate(args: string[], dir: string): Promise<Report> {
  return new Promise((resolveRun, reject) => {
    const child = spawn('npm', ['run', '-s', 'federate', '--', '--node', '--out', dir, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    child.stdout.on('data', (b: Buffer) => (log += b.toString()));
    child.stderr.on('data', (b: Buffer) => (log += b.toString()));
    child.on('close', (code) => {
      writeFileSync(join(dir, 'federate.log'), log);
      if (code !== 0) reject(new Error(`federate ${args.join(' ')} exited ${code}: see ${join(dir, 'federate.log')}`));
      else resolveRun(JSON.parse(readFileSync(join(dir, 'report.json'), 'utf8')) as Report);
    });
  });
}

interface Row {
  arm: string;
  what: string;
  seed: number;
  initial: number | null;
  curve: Array<number | null>;
  final: number | null;
  epsilon: { patient: number; hospital: number } | null;
  /** DP-SGD: the largest local ε per patient any hospital reported in the last round. */
  dpSgdEpsilon: number | null;
  seconds: number;
}

const rows: Row[] = [];
const started = Date.now();
for (const arm of arms)
  for (const seed of seeds) {
    const dir = join(out, `${arm.name}-seed${seed}`);
    mkdirSync(dir, { recursive: true });
    const report = await federate([...arm.args, '--seed', String(seed), '--rounds', String(rounds)], dir);
    const row: Row = {
      arm: arm.name,
      what: arm.what,
      seed,
      initial: report.initial?.accuracy ?? null,
      curve: report.rounds.map((r) => r.accuracy),
      final: report.final?.accuracy ?? null,
      epsilon: report.rounds.at(-1)?.epsilon ?? null,
      dpSgdEpsilon: maxOrNull((report.rounds.at(-1)?.participants ?? []).map((p) => p.dpSgdEpsilon).filter((e): e is number => e !== undefined)),
      seconds: report.wallMs / 1000,
    };
    rows.push(row);
    if (!values.json) console.error(`${arm.name} seed ${seed}: final accuracy ${pct(row.final)} (${row.curve.map(pct).join(' → ')}), ${row.seconds.toFixed(0)} s`);
  }

function maxOrNull(xs: number[]): number | null {
  return xs.length ? Math.max(...xs) : null;
}

function pct(v: number | null | undefined): string {
  return v === null || v === undefined ? '—' : `${(100 * v).toFixed(1)} %`;
}

const summary = arms.map((arm) => {
  const mine = rows.filter((r) => r.arm === arm.name);
  const finals = mine.map((r) => r.final).filter((v): v is number => v !== null);
  const at = (k: number) => mine.map((r) => r.curve[k]).filter((v): v is number => typeof v === 'number');
  const mean = (a: number[]) => (a.length ? a.reduce((x, y) => x + y, 0) / a.length : null);
  return {
    arm: arm.name,
    what: arm.what,
    seeds: mine.length,
    round1: mean(at(0)),
    round5: mean(at(4)),
    final: mean(finals),
    finalMin: finals.length ? Math.min(...finals) : null,
    finalMax: finals.length ? Math.max(...finals) : null,
    epsilon: mine[0]?.epsilon ?? null,
    dpSgdEpsilon: maxOrNull(mine.map((r) => r.dpSgdEpsilon).filter((e): e is number => e !== null)),
  };
});

const command = `npm run bench:demo -- ${process.argv.slice(2).join(' ')}`.trim();
const table = [
  `| arm | what | round 1 | round 5 | round ${rounds} (mean of ${seeds.length} seeds) | min – max | ε per patient / hospital (δ = 1e-5) | DP-SGD local ε per patient (largest hospital) |`,
  '|---|---|---|---|---|---|---|---|',
  ...summary.map(
    (s) =>
      `| ${s.arm} | ${s.what} | ${pct(s.round1)} | ${pct(s.round5)} | ${pct(s.final)} | ${pct(s.finalMin)} – ${pct(s.finalMax)} | ${s.epsilon ? `${s.epsilon.patient.toFixed(1)} / ${s.epsilon.hospital.toFixed(1)}` : 'no DP'} | ${s.dpSgdEpsilon === null ? '—' : s.dpSgdEpsilon.toFixed(2)} |`,
  ),
].join('\n');
const minutes = (Date.now() - started) / 60000;
mkdirSync(out, { recursive: true });
writeFileSync(
  join(out, 'summary.md'),
  `# Demo task: what changes the outcome\n\n\`${command}\`\n\n${rounds} rounds, the server's default study otherwise (small-cnn on 32×32 unless noted, 4 local epochs), Node hospitals on TF.js wasm, ${minutes.toFixed(1)} min. ` +
    `Accuracy: the round's accuracy as the server reports it, the mean over the arm's hospitals of each one's held-out patients (so arms with other hospitals are measured on other slices).\n\n${table}\n`,
);
writeFileSync(join(out, 'runs.json'), `${JSON.stringify({ command, rounds, seeds, summary, runs: rows }, null, 2)}\n`);
if (values.json) console.log(JSON.stringify({ command, rounds, seeds, summary }));
else console.log(`\n${table}\n\nwrote ${join(out, 'summary.md')} and runs.json (${minutes.toFixed(1)} min)`);
