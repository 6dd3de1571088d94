#!/usr/bin/env -S npx tsx
import { appendFileSync, mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { helpText, parseCli, type CliOptions } from './cli-flags';
import { DatabaseInUseError } from './db-lock';
import { syncDemoTokens } from './demo-tokens';
import { PRIVACY_DEFAULTS, SettingsConflictError } from './federation-settings';
import { verifyPassword } from './admin-auth';
import { DEFAULT_FEDERATION, startServer, type RunningServer } from './server';
import { useGridHelperThread } from './dp/grid-helper';

/** Every expected failure is one line (or one per conflict) and an exit code, never a stack trace. */
function fail(code: number, ...lines: string[]): never {
  for (const line of lines) console.error(`fedward: ${line}`);
  process.exit(code);
}

const cli = parseCli(process.argv.slice(2), process.env);
if (!cli.ok && cli.help) {
  console.log(helpText({ ...DEFAULT_FEDERATION, privacy: PRIVACY_DEFAULTS }));
  process.exit(0);
}
if (!cli.ok) fail(2, cli.error);
const args = cli.options;

const dbPath = resolve(args.db);
mkdirSync(dirname(dbPath), { recursive: true });
const serverOptions = {
  host: args.host,
  port: args.port,
  dbPath,
  adminPassword: process.env.FEDWARD_ADMIN_PASSWORD,
  federation: args.federation,
  reset: args.reset,
  allowedOrigins: args.allowedOrigins,
  ...(args.recordReceived && { recordReceived: receivedRecorder(resolve(args.recordReceived)) }),
};
/** --record-received: one JSON line per message, written at once (a check must see every one). */
function receivedRecorder(file: string) {
  return (entry: object) => appendFileSync(file, JSON.stringify(entry) + '\n', { mode: 0o600 });
}

// The DP grid's passes over each upload take a second core where there is one (same bits).
const gridThreads = useGridHelperThread();
const server = await startServer(serverOptions).catch((e: unknown) => startFailed(e, args));

function startFailed(e: unknown, a: CliOptions): never {
  if (e instanceof DatabaseInUseError) fail(1, e.message);
  if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE') {
    fail(1, `port ${a.port} on ${a.host} is already in use (another Fedward server?); choose another with --port or FEDWARD_PORT`);
  }
  if (e instanceof SettingsConflictError) fail(2, ...e.message.split('\n'));
  // A settings mistake (zod names the field) gets one clear line instead of a stack trace.
  const issues = (e as { issues?: { path: PropertyKey[]; message: string }[] }).issues;
  if (!issues) throw e;
  fail(2, ...issues.map((i) => `federation setting ${i.path.map(String).join('.') || '(root)'}: ${i.message}`));
}

if (server.store.lockTakeover) console.warn(`fedward: ${server.store.lockTakeover}`);
await warnIgnoredAdminPassword(server);

/** The env password only seeds a new database; say so when it differs from the one in force. */
async function warnIgnoredAdminPassword(s: RunningServer): Promise<void> {
  const given = process.env.FEDWARD_ADMIN_PASSWORD;
  const stored = s.store.getSetting('admin_password');
  if (given && stored && !(await verifyPassword(given, stored))) {
    console.warn('fedward: FEDWARD_ADMIN_PASSWORD ignored: the stored password wins; change it from the admin page');
  }
}

const tokensFile = args.tokensFile ? resolve(args.tokensFile) : null;
const tokens =
  args.enrol.length > 0 || tokensFile
    ? syncDemoTokens({ store: server.store, federationId: server.config.id, hospitals: args.enrol, file: tokensFile, createToken: (hospital) => server.createToken(hospital) })
    : null;
for (const note of tokens?.notes ?? []) console.warn(`fedward: ${note}`);

const line = '─'.repeat(72);
console.log(line);
console.log(`Fedward server   ${server.url}   (database ${dbPath})`);
console.log(`Hospital app     ${server.url}/`);
console.log(`Admin dashboard  ${server.url}/admin/`);
if (server.generatedAdminPassword) {
  console.log(`Admin password   ${server.generatedAdminPassword}   (shown once; set FEDWARD_ADMIN_PASSWORD to choose it)`);
}
for (const { hospital, token } of tokens?.created ?? []) console.log(`Token ${hospital.padEnd(12)} ${token}   (shown once)`);
if (tokens && tokensFile) console.log(`Tokens: ${tokens.enrolled} hospitals enrolled; tokens are in ${tokensFile} (mode 600)`);
if (tokens?.revoked.length) console.log(`Tokens: revoked from the admin page, not re-created: ${tokens.revoked.join(', ')}`);
console.log(`Federation       ${server.config.name}: ${server.config.rounds} rounds, ≥ ${server.config.minClients} hospitals`);
const dp = server.config.privacy;
if (dp) {
  const strategy = server.config.aggregation?.strategy ?? 'fedavg';
  const vn = dp.virtualClients ?? 'heuristic';
  console.log(
    `Privacy          DP-${strategy} on an integer grid, discrete Gaussian z = ${dp.noiseMultiplier}, C = ${dp.clipNorm} (${dp.clipRule ?? 'fixed'}${dp.clipRule === 'median' ? ': NOT PRIVATE, ε = ∞' : ''}), sub-clients per hospital: ${vn}; budget ε ≤ ${dp.targetEpsilon} per ${dp.unit} at δ = ${dp.delta} (${dp.accountant}); grid passes on ${gridThreads} thread${gridThreads > 1 ? 's' : ''}`,
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
