#!/usr/bin/env -S npx tsx
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startServer, type FederationOverrides } from './server';

const { values: args } = parseArgs({
  options: {
    host: { type: 'string', default: process.env.FEDWARD_HOST ?? '127.0.0.1' },
    port: { type: 'string', default: process.env.FEDWARD_PORT ?? '8080' },
    db: { type: 'string', default: process.env.FEDWARD_DB ?? 'data/fedward.sqlite' },
    rounds: { type: 'string' },
    'min-clients': { type: 'string' },
    epochs: { type: 'string' },
    'batch-size': { type: 'string' },
    'learning-rate': { type: 'string' },
    'input-size': { type: 'string' },
    'deadline-s': { type: 'string' },
    /** Client-level DP (DP-FedAvg): noise multiplier z; setting it turns DP on. */
    'dp-noise': { type: 'string' },
    'dp-clip': { type: 'string', default: '1' },
    'dp-epsilon': { type: 'string', default: '8' },
    'dp-delta': { type: 'string', default: '1e-5' },
    'dp-unit': { type: 'string', default: 'hospital' },
    'dp-accountant': { type: 'string', default: 'rdp' },
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
  ...(args['deadline-s'] && { roundDeadlineMs: num(args['deadline-s'])! * 1000 }),
  model: { ...(args['input-size'] && { inputSize: num(args['input-size']) }) },
  ...(args['dp-noise'] && {
    privacy: {
      noiseMultiplier: num(args['dp-noise'])!,
      clipNorm: num(args['dp-clip'])!,
      targetEpsilon: num(args['dp-epsilon'])!,
      delta: num(args['dp-delta'])!,
      unit: args['dp-unit'] as 'hospital' | 'sub-client',
      accountant: args['dp-accountant'] as 'rdp' | 'gdp',
    },
  }),
  training: {
    ...(args.epochs && { epochs: num(args.epochs) }),
    ...(args['batch-size'] && { batchSize: num(args['batch-size']) }),
    ...(args['learning-rate'] && { learningRate: num(args['learning-rate']) }),
  },
};

const dbPath = resolve(args.db!);
mkdirSync(dirname(dbPath), { recursive: true });
const server = await startServer({
  host: args.host,
  port: Number(args.port),
  dbPath,
  adminPassword: process.env.FEDWARD_ADMIN_PASSWORD,
  federation,
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
  console.log(`Privacy          DP-FedAvg z = ${dp.noiseMultiplier}, C = ${dp.clipNorm}; budget ε ≤ ${dp.targetEpsilon} per ${dp.unit} at δ = ${dp.delta} (${dp.accountant})`);
}
console.log(line);

const stop = async () => {
  await server.close();
  process.exit(0);
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
