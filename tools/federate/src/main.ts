#!/usr/bin/env -S npx tsx
/**
 * npm run federate -- [--browser | --node] [--hospitals n] [options] [study options]: a whole
 * federation on this computer, from one command, to a report. See --help and ../README.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_FEDERATION } from '@fedward/server';
import { PRIVACY_DEFAULTS } from '../../../server/src/federation-settings';
import { observeAdmin, type AdminObserver } from './admin-observer';
import { runBrowserHospitals } from './browser-hospitals';
import { prepareData, type FederationData } from './federation-data';
import { runNodeHospitals } from './node-hospitals';
import { helpText, parseOptions, UsageError, type FederateOptions } from './options';
import { progressPrinter } from './progress';
import { buildReport } from './report';
import { CHARTS, writeReport } from './report-files';
import { startFederationServer, type FederationServer } from './server-process';
import { readStudyResults, type StudyResults } from './study-results';
import { Timeline } from './timeline';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');

function fail(code: number, message: string): never {
  console.error(`federate: ${message}`);
  process.exit(code);
}

let options: FederateOptions;
try {
  const parsed = parseOptions(process.argv.slice(2), repoRoot);
  if (parsed.help) {
    console.log(helpText({ ...DEFAULT_FEDERATION, privacy: PRIVACY_DEFAULTS }));
    process.exit(0);
  }
  options = parsed.options;
} catch (e) {
  if (e instanceof UsageError) fail(2, e.message);
  throw e;
}

const startedAt = Date.now();
const clock = () => {
  const s = Math.floor((Date.now() - startedAt) / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, ' ')}:${String(s % 60).padStart(2, '0')}`;
};
const log = (line: string) => console.log(`[${clock()}] ${line}`);

/** The server serves the built apps; a fresh checkout has none yet. */
function ensureAppsBuilt(): void {
  if (['hospital', 'admin'].every((app) => existsSync(join(repoRoot, 'apps', app, 'dist', 'index.html')))) return;
  log('building the hospital and admin apps (once)…');
  const r = spawnSync('npx', ['turbo', 'run', 'build', '--filter=@fedward/hospital', '--filter=@fedward/admin', '--output-logs=errors-only'], {
    cwd: repoRoot,
    stdio: 'inherit',
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1' },
  });
  if (r.status !== 0) fail(1, 'building the apps failed (npm run build shows why)');
}

if (options.mode === 'browser') ensureAppsBuilt();

let data: FederationData;
try {
  const imageSize = (options.study.model as { inputSize?: number } | undefined)?.inputSize ?? DEFAULT_FEDERATION.model.inputSize;
  if (!options.data) log(`generating ${options.hospitals ?? 3} hospitals of ${options.generate.slicesPerHospital} ${options.generate.format.toUpperCase()} slices (${imageSize}×${imageSize})…`);
  data = await prepareData({ data: options.data, count: options.hospitals, outDir: options.out, imageSize, generate: options.generate });
} catch (e) {
  if (e instanceof UsageError) fail(2, e.message);
  throw e;
}
mkdirSync(options.out, { recursive: true });

const stateDir = mkdtempSync(join(tmpdir(), 'fedward-federate-'));
let fed: FederationServer;
try {
  fed = await startFederationServer({ stateDir, hospitals: data.hospitals.map((h) => h.id), studyArgs: options.studyArgs });
} catch (e) {
  rmSync(stateDir, { recursive: true, force: true });
  fail(e instanceof UsageError ? 2 : 1, (e as Error).message);
}
const { server } = fed;
log(`server ${server.url} (temporary database); admin dashboard ${server.url}/admin/ with password ${fed.adminPassword}`);

const stop = new AbortController();
const timer = setTimeout(() => stop.abort(new Error(`the study had not finished after ${options.timeoutMs / 60_000} min (--timeout-min)`)), options.timeoutMs);
process.once('SIGINT', () => stop.abort(new Error('interrupted (Ctrl-C)')));
const serverExit = () => stop.abort(new Error(`the server stopped unexpectedly:\n${server.output().split('\n').slice(-10).join('\n')}`));
server.child.once('exit', serverExit);

const timeline = new Timeline();
const progress = progressPrinter(log, (round) => timeline.roundStart(round));
let error: string | null = null;
let observer: AdminObserver | null = null;
let pageBackends: Record<string, string | null> | undefined;
let studyId: string | null = null;
try {
  observer = await observeAdmin(server.url, fed.adminPassword, (s, at) => {
    timeline.snapshot(s, at);
    progress.snapshot(s);
  });
  studyId = observer.latest()!.config.id;
  const common = { url: server.url, hospitals: data.hospitals, tokens: fed.tokens, timeline, signal: stop.signal, log };
  if (options.mode === 'browser') {
    ({ pageBackends } = await runBrowserHospitals({ ...common, backend: options.backend, headed: options.headed, adminPassword: fed.adminPassword, outDir: options.out }));
  } else {
    await runNodeHospitals({ ...common, study: studyId, backend: options.backend as 'wasm' | 'cpu' });
  }
} catch (e) {
  error = stop.signal.aborted ? (stop.signal.reason as Error).message : (e as Error).message;
}
clearTimeout(timer);

// Every hospital acknowledged its last evaluation before it finished: one more snapshot has them all.
const last = await observer?.fresh().catch(() => null);
if (last) {
  timeline.snapshot(last, Date.now());
  progress.snapshot(last);
}
progress.flush();
observer?.close();
server.child.off('exit', serverExit);
await server.stop();
writeFileSync(join(options.out, 'server.log'), server.output());

let results: StudyResults | null = null;
try {
  if (studyId) results = readStudyResults(join(stateDir, 'fedward.sqlite'), studyId);
} catch (e) {
  error ??= `reading the results: ${(e as Error).message}`;
}
rmSync(stateDir, { recursive: true, force: true });

const other = ['server.log', ...(existsSync(join(options.out, 'browser.log')) ? ['browser.log'] : []), ...(existsSync(join(options.out, 'dashboard.png')) ? ['dashboard.png'] : [])];
const report = buildReport({
  mode: options.mode,
  backendRequested: options.backend,
  command: process.argv.slice(2),
  startedAt,
  finishedAt: Date.now(),
  data,
  results,
  timeline,
  stopReason: last?.stopReason ?? observer?.latest()?.stopReason ?? null,
  error,
  ...(pageBackends && { pageBackends }),
  files: { markdown: 'report.md', charts: [...CHARTS], other },
});
writeReport(options.out, report);
log(report.headline);
const shown = relative(process.env.INIT_CWD ?? process.cwd(), options.out) || '.';
log(`report: ${join(shown.startsWith('..') ? options.out : shown, 'report.md')} (+ report.json, ${CHARTS.join(', ')})`);
if (error) fail(1, error);
process.exit(0);
