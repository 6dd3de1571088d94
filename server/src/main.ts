#!/usr/bin/env -S npx tsx
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { ModelSpec } from '@fedward/protocol';
import { startServer, type FederationOverrides } from './server';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.FEDWARD_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.FEDWARD_PORT ?? '8080' },
    db: { type: 'string', default: process.env.FEDWARD_DB ?? 'data/fedward.sqlite' },
    rounds: { type: 'string' },
    'min-clients': { type: 'string' },
    /** Valid updates needed to release a round (default: min-clients); lower lets a round finish without a hospital that left. */
    'min-updates': { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    'input-size': { type: 'string' },
    /** small-cnn (default) | densenet | vgg-slim (has normalisation layers: for FedBN and PRR-FL). */
    model: { type: 'string' },
    'deadline-s': { type: 'string' },
    /** An upload that sends nothing for this long is cancelled and its hospital leaves the round (default 60). */
    'upload-stall-s': { type: 'string' },
    /** Client-level DP (DP-FedAvg): noise multiplier z; setting it turns DP on. */
    'dp-noise': { type: 'string' },
    'dp-clip': { type: 'string', default: '1' },
    'dp-epsilon': { type: 'string', default: '8' },
    'dp-delta': { type: 'string', default: '1e-5' },
    /** The relation the budget guards: patient | hospital (both are always reported). */
    'dp-unit': { type: 'string', default: 'hospital' },
    'dp-accountant': { type: 'string', default: 'rdp' },
    /** Sub-clients per hospital: a number, "heuristic" (⌊√(z·√d/N)⌋, public inputs) or "adaptive" (probe round, then the rule on a noised norm sum). */
    'dp-vn': { type: 'string', default: 'heuristic' },
    'dp-vn-rule': { type: 'string', default: 'default' },
    /** fixed | median (the seed's, not private) | quantile (Andrew et al., private). */
    'dp-clip-rule': { type: 'string', default: 'fixed' },
    /** σ_b of the quantile rule's noised count (default z). */
    'dp-count-noise': { type: 'string' },
    /** Noise multiplier of the adaptive rule's noised norm sum (default z). */
    'dp-norm-sum-noise': { type: 'string' },
    /** FedNova under DP: the public local step count of one hospital's round (τ̄ = that/VN). */
    'server-tau': { type: 'string' },
    /** Server optimizer: fedavg | fedadam | fednova. */
    strategy: { type: 'string' },
    'server-lr': { type: 'string' },
    /** fedavg | fedbn (local normalisation) | prr-fl (personalized + deputy models, PFA on the server). */
    personalization: { type: 'string' },
    'pfa-l-rate': { type: 'string' },
    /** clients (a true mean, the default) | seed-4 (the seed's literal 4). */
    'pfa-divisor': { type: 'string' },
    /** Comma-separated hospital names to enrol on first start (the demo federation). */
    enrol: { type: 'string' },
    /** Where the demo's enrolment tokens are kept between starts. */
    'tokens-file': { type: 'string' },
  },
});

const num = (v: string | undefined) => (v === undefined ? undefined : Number(v));
const federation: FederationOverrides = {
  ...(args.rounds && { rounds: num(args.rounds) }),
  ...(args['min-clients'] && { minClients: num(args['min-clients']) }),
  ...(args['min-updates'] && { minUpdates: num(args['min-updates']) }),
  ...(args['deadline-s'] && { roundDeadlineMs: num(args['deadline-s'])! * 1000 }),
  ...(args['upload-stall-s'] && { uploadStallMs: num(args['upload-stall-s'])! * 1000 }),
  model: {
    ...(args['input-size'] && { inputSize: num(args['input-size']) }),
    ...(args.model && { kind: args.model as ModelSpec['kind'] }),
  },
  ...(args['dp-noise'] && {
    privacy: {
      noiseMultiplier: num(args['dp-noise'])!,
      clipNorm: num(args['dp-clip'])!,
      targetEpsilon: num(args['dp-epsilon'])!,
      delta: num(args['dp-delta'])!,
      unit: args['dp-unit'] as 'patient' | 'hospital',
      accountant: args['dp-accountant'] as 'rdp' | 'gdp',
      virtualClients: args['dp-vn'] === 'adaptive' || args['dp-vn'] === 'heuristic' ? args['dp-vn'] : num(args['dp-vn'])!,
      vnRule: args['dp-vn-rule'] as 'default' | 'ada_stable' | 'ada_prog',
      clipRule: args['dp-clip-rule'] as 'fixed' | 'median' | 'quantile',
      ...(args['dp-count-noise'] && { countNoise: num(args['dp-count-noise'])! }),
      ...(args['dp-norm-sum-noise'] && { normSumNoise: num(args['dp-norm-sum-noise'])! }),
    },
  }),
  ...(args.strategy && {
    aggregation: {
      strategy: args.strategy as 'fedavg' | 'fedadam' | 'fednova',
      ...(args['server-lr'] && { serverLearningRate: num(args['server-lr']) }),
      ...(args['server-tau'] && { publicSteps: num(args['server-tau']) }),
    },
  }),
  training: {
    ...(args.epochs && { epochs: num(args.epochs) }),
    ...(args['batch-size'] && { batchSize: num(args['batch-size']) }),
    ...(args['learning-rate'] && { learningRate: num(args['learning-rate']) }),
  },
};

if (args.personalization) {
  federation.personalization = {
    strategy: args.personalization as 'fedavg' | 'fedbn' | 'prr-fl',
    ...(args['pfa-l-rate'] && { lRate: num(args['pfa-l-rate'])! }),
    ...(args['pfa-divisor'] && { divisor: args['pfa-divisor'] as 'clients' | 'seed-4' }),
  };
}

const dbPath = resolve(args.db!);
mkdirSync(dirname(dbPath), { recursive: true });
const server = await startServer({
  host: args.host,
  port: Number(args.port),
  dbPath,
  adminPassword: process.env.FEDWARD_ADMIN_PASSWORD,
  federation,
}).catch((e: unknown) => {
  // A settings mistake (zod names the field) gets one clear line instead of a stack trace.
  const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (!issues) throw e;
  for (const i of issues) console.error(`fedward: federation setting ${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  process.exit(2);
});

let tokens: Record<string, string> = {};
if (args.enrol) {
  const file = args['tokens-file'] ? resolve(args['tokens-file']) : null;
  if (file && existsSync(file)) tokens = JSON.parse(readFileSync(file, 'utf8')) as Record<string, string>;
  for (const hospital of args.enrol.split(',').map((s) => s.trim()).filter(Boolean)) {
    tokens[hospital] ??= server.createToken(hospital);
  }
  if (file) writeFileSync(file, JSON.stringify(tokens, null, 2) + '\n', { mode: 0o600 });
}

const line = '─'.repeat(72);
console.log(line);
console.log(`Fedward server   ${server.url}   (database ${dbPath})`);
console.log(`Hospital app     ${server.url}/`);
console.log(`Admin dashboard  ${server.url}/admin/`);
if (server.generatedAdminPassword) {
  console.log(`Admin password   ${server.generatedAdminPassword}   (shown once; set FEDWARD_ADMIN_PASSWORD to choose it)`);
}
for (const [hospital, token] of Object.entries(tokens)) console.log(`Token ${hospital.padEnd(12)} ${token}`);
console.log(`Federation       ${server.config.name}: ${server.config.rounds} rounds, ≥ ${server.config.minClients} hospitals`);
const dp = server.config.privacy;
if (dp) {
  const strategy = server.config.aggregation?.strategy ?? 'fedavg';
  const vn = dp.virtualClients ?? 'heuristic';
  console.log(
    `Privacy          DP-${strategy} on an integer grid, discrete Gaussian z = ${dp.noiseMultiplier}, C = ${dp.clipNorm} (${dp.clipRule ?? 'fixed'}${dp.clipRule === 'median' ? ': NOT PRIVATE, ε = ∞' : ''}), sub-clients per hospital: ${vn}; budget ε ≤ ${dp.targetEpsilon} per ${dp.unit} at δ = ${dp.delta} (${dp.accountant})`,
  );
}
const personalization = server.config.personalization?.strategy ?? 'fedavg';
if (personalization !== 'fedavg') console.log(`Strategy         ${personalization}`);
console.log(line);

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
