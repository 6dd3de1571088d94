/**
 * Load test (issue 13): many hospitals, a reconnect storm, a flood of wrong enrolment tokens and of
 * wrong admin passwords, while a prober measures how fast /healthz still answers.
 *
 *   npm run bench:load [-- --json] [--hospitals 200] [--wrong-tokens 200] [--wrong-passwords 100]
 *                      [--login-concurrency 10] [--in-process]
 *                      [--profile [--profile-phases connect,storm] [--profile-interval-us 500]]
 *
 * By default the server runs in a child process (its own event loop, as in production; temp
 * database, FEDWARD_QUIET=1); --in-process starts it in this one. minClients is set out of reach,
 * so no round ever starts: this measures connections and refusals, not training.
 *
 * Two views of the server's responsiveness per phase:
 * - /healthz latency, from a prober in a worker thread (healthz-probe.ts): its own event loop, so
 *   the 200 client sockets of this process do not add their lag to its figures;
 * - the server's own event-loop delay (perf_hooks.monitorEventLoopDelay, reset at each phase),
 *   measured in the server process: how long a timer due every 10 ms fired late.
 *
 * --profile records a CPU profile of the server (V8's sampling profiler via node:inspector, in the
 * server process) from the first of --profile-phases to the end of the run, writes it to a temp
 * folder (open it in Chrome DevTools) and prints, per listed phase, where the server spent its time:
 * self time by function, by file or package, the project's own functions by total time, and what
 * ran in the longest stretch without an idle sample (what a /healthz request arriving then waited for).
 * Profiling slows the server down a little: take the latency figures from a run without it.
 *
 * Exits non-zero only when something crashed (the server process, or this one), never on figures.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { Session } from 'node:inspector/promises';
import { findSourceMap } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { io, type Socket } from 'socket.io-client';
import type { FromProbe, ProbeOptions, ProbeSample, ToProbe } from './healthz-probe';

const { values: a } = parseArgs({
  options: {
    json: { type: 'boolean', default: false },
    hospitals: { type: 'string', default: '200' },
    'wrong-tokens': { type: 'string', default: '200' },
    'wrong-passwords': { type: 'string', default: '100' },
    /** Parallel login attempts (a guesser with this many connections). */
    'login-concurrency': { type: 'string', default: '10' },
    'in-process': { type: 'boolean', default: false },
    /** CPU-profile the server (see the top of this file). */
    profile: { type: 'boolean', default: false },
    'profile-phases': { type: 'string', default: 'connect,storm' },
    'profile-interval-us': { type: 'string', default: '500' },
    /** Internal: this process is the spawned server. */
    serve: { type: 'boolean', default: false },
    'admin-password': { type: 'string' },
    /** Internal: the spawned server profiles itself into this folder. */
    'profile-dir': { type: 'string' },
  },
  strict: false,
});

const HEALTHZ_EVERY_MS = 20;
const STEP_TIMEOUT_MS = 60_000;
/** monitorEventLoopDelay's timer period: an idle loop reads ~0 ms delay beyond it. */
const LOOP_RESOLUTION_MS = 10;
const PHASES = ['baseline', 'connect', 'storm', 'wrong-tokens', 'wrong-passwords', 'after'];
const PROFILE_TOP = 25;

// ---- the server's side of the measurement: event-loop delay per phase, optional CPU profile ----

interface LoopDelay {
  /** Timer firings sampled in the phase. */
  n: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
  mean: number | null;
}

interface ProfileSpec {
  dir: string;
  phases: string[];
  intervalUs: number;
}

/** What the server process measured: loop delay per phase, and where its CPU profile was written. */
interface PhaseReport {
  loopDelay: Record<string, LoopDelay>;
  profile: { file: string; intervalUs: number; windows: { phase: string; startUs: number; endUs: number }[] } | null;
}

/** Runs in the server's process (event loop): a loop-delay histogram reset at every phase change, and the profiler. */
class PhaseMeter {
  private readonly histogram = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  private phase = 'startup';
  private readonly loopDelay: Record<string, LoopDelay> = {};
  /** Phase changes, in the profiler's clock (µs, CLOCK_MONOTONIC, like process.hrtime). */
  private readonly marks: { phase: string; atUs: number }[] = [];
  private session: Session | null = null;
  private profiling: Promise<void> | null = null;

  constructor(private readonly profile: ProfileSpec | null) {
    this.histogram.enable();
  }

  setPhase(next: string): void {
    this.closePhase();
    this.phase = next;
    this.marks.push({ phase: next, atUs: nowUs() });
    if (this.profile && !this.profiling && this.profile.phases.includes(next)) this.profiling = this.startProfiler(this.profile.intervalUs);
  }

  private closePhase(): void {
    const h = this.histogram;
    const ms = (ns: number) => round(Math.max(0, ns / 1e6 - LOOP_RESOLUTION_MS));
    // Several phase changes can land between two timer firings; keep the first reading.
    if (h.count > 0 || !this.loopDelay[this.phase]) {
      this.loopDelay[this.phase] = h.count
        ? { n: h.count, p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max), mean: ms(h.mean) }
        : { n: 0, p50: null, p99: null, max: null, mean: null };
    }
    h.reset();
  }

  private async startProfiler(intervalUs: number): Promise<void> {
    const session = new Session();
    session.connect();
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: intervalUs });
    await session.post('Profiler.start');
    this.session = session;
  }

  /** Ends the current phase; stops the profiler (if any) and writes its profile. */
  async report(): Promise<PhaseReport> {
    this.closePhase();
    this.marks.push({ phase: 'end', atUs: nowUs() });
    this.phase = 'end';
    let profile: PhaseReport['profile'] = null;
    if (this.profiling && this.profile) {
      await this.profiling;
      const { profile: p } = await this.session!.post('Profiler.stop');
      this.session!.disconnect();
      toSourcePositions(p.nodes);
      const file = join(this.profile.dir, `server-${process.pid}.cpuprofile`);
      writeFileSync(file, JSON.stringify(p));
      const windows = this.marks.slice(0, -1).map((m, i) => ({ phase: m.phase, startUs: m.atUs, endUs: this.marks[i + 1]!.atUs }));
      profile = { file, intervalUs: this.profile.intervalUs, windows: windows.filter((w) => this.profile!.phases.includes(w.phase)) };
    }
    return { loopDelay: { ...this.loopDelay }, profile };
  }
}

const nowUs = () => Number(process.hrtime.bigint() / 1000n);

/**
 * tsx compiles each .ts file on load, so the profile's positions are in the compiled code (often all
 * on line 1): map this repository's frames back to their .ts line through the source maps tsx
 * registered in this process.
 */
function toSourcePositions(nodes: { callFrame: { url: string; lineNumber: number; columnNumber: number } }[]): void {
  for (const { callFrame: f } of nodes) {
    if (!f.url.startsWith(REPO_ROOT) || f.url.includes('/node_modules/') || f.lineNumber < 0) continue;
    const entry = findSourceMap(f.url)?.findEntry(f.lineNumber, f.columnNumber);
    if (entry && 'originalLine' in entry) {
      f.lineNumber = entry.originalLine;
      f.columnNumber = entry.originalColumn;
    }
  }
}

function profileSpec(): ProfileSpec | null {
  const dir = (a['profile-dir'] as string | undefined) ?? (a.profile ? mkdtempSync(join(tmpdir(), 'fedward-load-profile-')) : undefined);
  if (!dir) return null;
  return {
    dir,
    phases: String(a['profile-phases']).split(',').map((p) => p.trim()).filter(Boolean),
    intervalUs: Number(a['profile-interval-us']),
  };
}

/** The parts of a V8 .cpuprofile read here. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number }; children?: number[] }[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

interface ProfileRow {
  function: string;
  where: string;
  ms: number;
  /** Of the phase's busy (non-idle) time. */
  pct: number;
}

interface PhaseProfile {
  sampledMs: number;
  busyMs: number;
  /** Self time by function (name + file:line), most first. */
  self: ProfileRow[];
  /** Self time by file (this repository) or package (node_modules) or Node internals. */
  byFile: { file: string; ms: number; pct: number }[];
  /** This repository's functions by total time (self + callees), most first. */
  projectTotal: ProfileRow[];
  /** The longest stretch of samples without an idle one (the loop never waited for I/O): what ran in it. */
  longestBusy: { ms: number; atMs: number; self: ProfileRow[]; projectTotal: ProfileRow[] };
}

const REPO_ROOT = new URL('../../', import.meta.url).href;

/** Where a frame's code lives, short: a path in this repository, a package, or node:…. */
function shortUrl(url: string): string {
  if (!url) return '';
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 1);
  if (url.startsWith(REPO_ROOT)) return url.slice(REPO_ROOT.length);
  return url.startsWith('file://') ? fileURLToPath(url) : url;
}

function fileOf(url: string, functionName: string): string {
  if (!url) return /^\(.*\)$/.test(functionName) ? functionName : '(native)';
  const short = shortUrl(url);
  const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(short);
  return pkg ? `node_modules/${pkg[1]!}` : short;
}

/** Self time per function and per file, and the project's functions by total time, for each profiled phase. */
function summarizeProfile(p: NonNullable<PhaseReport['profile']>): { file: string; intervalUs: number; phases: Record<string, PhaseProfile> } {
  const profile = JSON.parse(readFileSync(p.file, 'utf8')) as CpuProfile;
  const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const key = (id: number) => {
    const { functionName, url, lineNumber } = nodes.get(id)!.callFrame;
    return { function: functionName || '(anonymous)', where: url ? `${shortUrl(url)}:${lineNumber + 1}` : '' };
  };
  const isProject = (url: string) => url.startsWith(REPO_ROOT) && !url.includes('/node_modules/');
  // Sample i is taken at times[i] and stands for the time until the next one.
  const times: number[] = [];
  let t = profile.startTime;
  for (const d of profile.timeDeltas) times.push((t += d));

  const isIdle = (i: number) => nodes.get(profile.samples[i]!)!.callFrame.functionName === '(idle)';

  /** Self time by function and by file, and project functions by total time, over samples [from, to) clipped to [startUs, endUs). */
  const aggregate = (from: number, to: number, startUs: number, endUs: number, top: number) => {
    const self = new Map<string, ProfileRow>();
    const files = new Map<string, number>();
    const total = new Map<string, ProfileRow>();
    let busy = 0;
    for (let i = from; i < to; i++) {
      const at = times[i]!;
      if (at < startUs || at >= endUs || isIdle(i)) continue;
      const us = Math.min(times[i + 1] ?? profile.endTime, endUs) - at;
      const id = profile.samples[i]!;
      const frame = nodes.get(id)!.callFrame;
      busy += us;
      const k = key(id);
      const row = self.get(`${k.function} ${k.where}`) ?? { ...k, ms: 0, pct: 0 };
      row.ms += us;
      self.set(`${k.function} ${k.where}`, row);
      const file = fileOf(frame.url, frame.functionName);
      files.set(file, (files.get(file) ?? 0) + us);
      // Total time: each project function on the stack counts once per sample.
      const seen = new Set<string>();
      for (let n: number | undefined = id; n !== undefined; n = parent.get(n)) {
        if (!isProject(nodes.get(n)!.callFrame.url)) continue;
        const kk = key(n);
        const name = `${kk.function} ${kk.where}`;
        if (seen.has(name)) continue;
        seen.add(name);
        const r = total.get(name) ?? { ...kk, ms: 0, pct: 0 };
        r.ms += us;
        total.set(name, r);
      }
    }
    const finish = (rows: Iterable<ProfileRow>) =>
      [...rows]
        .sort((x, y) => y.ms - x.ms)
        .slice(0, top)
        .map((r) => ({ ...r, ms: round(r.ms / 1000), pct: busy ? round((100 * r.ms) / busy) : 0 }));
    return {
      busyMs: round(busy / 1000),
      self: finish(self.values()),
      byFile: [...files]
        .sort((x, y) => y[1] - x[1])
        .slice(0, 15)
        .map(([file, us]) => ({ file, ms: round(us / 1000), pct: busy ? round((100 * us) / busy) : 0 })),
      projectTotal: finish(total.values()),
    };
  };

  const phases: Record<string, PhaseProfile> = {};
  for (const w of p.windows) {
    let from = profile.samples.length;
    let to = 0;
    // The longest stretch without an idle sample: the event loop did not wait for I/O in between,
    // so a /healthz request (or a timer) that came due in it waited up to that long.
    let longest = { from: 0, to: 0, us: 0 };
    let run: { from: number; startUs: number } | null = null;
    for (let i = 0; i < profile.samples.length; i++) {
      const at = times[i]!;
      if (at < w.startUs || at >= w.endUs) continue;
      from = Math.min(from, i);
      to = i + 1;
      if (isIdle(i)) {
        run = null;
        continue;
      }
      run ??= { from: i, startUs: at };
      const us = Math.min(times[i + 1] ?? profile.endTime, w.endUs) - run.startUs;
      if (us > longest.us) longest = { from: run.from, to: i + 1, us };
    }
    const all = aggregate(from, to, w.startUs, w.endUs, PROFILE_TOP);
    const stretch = aggregate(longest.from, longest.to, w.startUs, w.endUs, 10);
    phases[w.phase] = {
      sampledMs: round((w.endUs - w.startUs) / 1000),
      ...all,
      longestBusy: {
        ms: round(longest.us / 1000),
        atMs: longest.us ? round((times[longest.from]! - w.startUs) / 1000) : 0,
        self: stretch.self,
        projectTotal: stretch.projectTotal,
      },
    };
  }
  return { file: p.file, intervalUs: p.intervalUs, phases };
}

// ---- the server: in a child process (default) or in this one -------------------------------

interface ServerHandle {
  url: string;
  tokens(n: number, prefix: string): Promise<string[]>;
  /** Tells the server process a new phase begins (its loop-delay histogram restarts). */
  phase(p: string): void;
  /** The server's loop delay per phase (and profile), up to now. */
  report(): Promise<PhaseReport>;
  close(): Promise<void>;
  /** Rejects when the server process dies unexpectedly. */
  crashed: Promise<never>;
}

type ToChild = { type: 'tokens'; n: number; prefix: string; id: number } | { type: 'phase'; phase: string } | { type: 'report'; id: number } | { type: 'close' };
type FromChild =
  | { type: 'ready'; url: string }
  | { type: 'tokens'; id: number; tokens: string[] }
  | { type: 'report'; id: number; report: PhaseReport }
  | { type: 'closed' }
  | { type: 'crash'; error: string };

async function startInline(adminPassword: string): Promise<{ url: string; createToken(h: string): string; close(): Promise<void>; dir: string }> {
  process.env.FEDWARD_QUIET = '1';
  const { startServer } = await import('../src/server');
  const dir = mkdtempSync(join(tmpdir(), 'fedward-load-'));
  const server = await startServer({
    dbPath: join(dir, 'fedward.sqlite'),
    host: '127.0.0.1',
    port: 0,
    adminPassword,
    // Out of reach: no round starts, so the figures are about connections only.
    federation: { minClients: 10_000 },
  });
  return { url: server.url, createToken: (h) => server.createToken(h), close: () => server.close(), dir };
}

/** Child mode: start the server, answer token requests over IPC, close on request. */
async function serve(): Promise<void> {
  const send = (m: FromChild) => process.send?.(m);
  const crash = (e: unknown) => {
    send({ type: 'crash', error: (e as Error)?.stack ?? String(e) });
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  const meter = new PhaseMeter(profileSpec());
  const s = await startInline(a['admin-password'] as string);
  let closing = false;
  process.on('message', (m: ToChild) => {
    if (m.type === 'tokens') send({ type: 'tokens', id: m.id, tokens: Array.from({ length: m.n }, (_, i) => s.createToken(`${m.prefix}-${i}`)) });
    else if (m.type === 'phase') meter.setPhase(m.phase);
    else if (m.type === 'report') void meter.report().then((report) => send({ type: 'report', id: m.id, report }), crash);
    else if (m.type === 'close' && !closing) {
      closing = true;
      void s.close().then(() => {
        rmSync(s.dir, { recursive: true, force: true });
        send({ type: 'closed' });
        process.disconnect?.();
        process.exit(0);
      }, crash);
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => {
    if (closing) return;
    closing = true;
    void s.close().finally(() => process.exit(0));
  });
  send({ type: 'ready', url: s.url });
}

async function startChild(adminPassword: string, profile: ProfileSpec | null): Promise<ServerHandle> {
  const profileArgs = profile
    ? ['--profile-dir', profile.dir, '--profile-phases', profile.phases.join(','), '--profile-interval-us', String(profile.intervalUs)]
    : [];
  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--serve', '--admin-password', adminPassword, ...profileArgs], {
    env: { ...process.env, FEDWARD_QUIET: '1' },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  let closing = false;
  const waiters = new Map<number, (t: string[]) => void>();
  const reports = new Map<number, (r: PhaseReport) => void>();
  let nextId = 0;
  const crashed = new Promise<never>((_, fail) => {
    child.on('message', (m: FromChild) => {
      if (m.type === 'crash') fail(new Error(`server process crashed:\n${m.error}`));
      if (m.type === 'tokens') waiters.get(m.id)?.(m.tokens);
      if (m.type === 'report') reports.get(m.id)?.(m.report);
    });
    child.on('exit', (code, signal) => {
      if (!closing || code !== 0) fail(new Error(`server process exited (code ${code}, signal ${signal})`));
    });
  });
  crashed.catch(() => {});
  const url = await Promise.race([
    new Promise<string>((ok) => child.on('message', (m: FromChild) => m.type === 'ready' && ok(m.url))),
    crashed,
  ]);
  return {
    url,
    crashed,
    tokens: (n, prefix) =>
      new Promise((ok) => {
        const id = nextId++;
        waiters.set(id, ok);
        child.send({ type: 'tokens', n, prefix, id } satisfies ToChild);
      }),
    phase: (phase) => child.send({ type: 'phase', phase } satisfies ToChild),
    report: () =>
      new Promise((ok) => {
        const id = nextId++;
        reports.set(id, ok);
        child.send({ type: 'report', id } satisfies ToChild);
      }),
    close: () =>
      new Promise<void>((ok) => {
        closing = true;
        child.once('exit', () => ok());
        child.send({ type: 'close' } satisfies ToChild);
        setTimeout(() => child.kill('SIGKILL'), 15_000).unref();
      }),
  };
}

async function startHere(adminPassword: string, profile: ProfileSpec | null): Promise<ServerHandle> {
  // Here the server's loop is this one: its delay includes the load generator's work.
  const meter = new PhaseMeter(profile);
  const s = await startInline(adminPassword);
  return {
    url: s.url,
    crashed: new Promise<never>(() => {}),
    tokens: async (n, prefix) => Array.from({ length: n }, (_, i) => s.createToken(`${prefix}-${i}`)),
    phase: (p) => meter.setPhase(p),
    report: () => meter.report(),
    close: async () => {
      await s.close();
      rmSync(s.dir, { recursive: true, force: true });
    },
  };
}

// ---- measuring -------------------------------------------------------------------------------

interface Latency {
  n: number;
  errors: number;
  p50: number | null;
  p99: number | null;
  max: number | null;
}

function summarize(xs: number[], errors: number): Latency {
  const s = [...xs].sort((p, q) => p - q);
  const q = (f: number) => (s.length ? round(s[Math.min(s.length - 1, Math.ceil(f * s.length) - 1)]!) : null);
  return { n: s.length, errors, p50: q(0.5), p99: q(0.99), max: s.length ? round(s.at(-1)!) : null };
}
const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

/**
 * GET /healthz every 20 ms from a worker thread (healthz-probe.ts), tagged with the phase running.
 * The worker has its own event loop: the sockets this thread drives do not delay its requests.
 */
async function healthProbe(url: string) {
  const options: ProbeOptions = { url, everyMs: HEALTHZ_EVERY_MS, phase: 'baseline' };
  // A worker does not inherit tsx's hooks (Node 20): it registers them, then loads the .ts module.
  const probeModule = new URL('./healthz-probe.ts', import.meta.url).href;
  const boot = import.meta.url.endsWith('.ts')
    ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((t) => { t.register(); return import(${JSON.stringify(probeModule)}); })`
    : `import(${JSON.stringify(probeModule.replace(/\.ts$/, '.js'))})`;
  const worker = new Worker(boot, { eval: true, workerData: { healthzProbe: options } });
  const failed = new Promise<never>((_, fail) => {
    worker.once('error', fail);
    worker.once('exit', (code) => fail(new Error(`the /healthz prober stopped (exit code ${code})`)));
  });
  failed.catch(() => {});
  const next = <K extends FromProbe['type']>(type: K) =>
    Promise.race([new Promise<Extract<FromProbe, { type: K }>>((ok) => worker.on('message', (m: FromProbe) => m.type === type && ok(m as Extract<FromProbe, { type: K }>))), failed]);
  const post = (m: ToProbe) => worker.postMessage(m);
  await withTimeout(next('ready'), STEP_TIMEOUT_MS, 'the /healthz prober');
  let samples: ProbeSample[] = [];
  return {
    set phase(p: string) {
      post({ type: 'phase', phase: p });
    },
    async stop() {
      const done = next('samples');
      post({ type: 'stop' });
      samples = (await withTimeout(done, STEP_TIMEOUT_MS, 'the /healthz prober')).samples;
      await worker.terminate();
    },
    by(p?: string): Latency {
      const xs = samples.filter((s) => p === undefined || s.phase === p);
      return summarize(xs.filter((s) => s.ok).map((s) => s.ms), xs.filter((s) => !s.ok).length);
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  return new Promise((ok, fail) => {
    const t = setTimeout(() => fail(new Error(`${what}: no answer within ${ms} ms`)), ms);
    p.then((v) => (clearTimeout(t), ok(v)), (e: unknown) => (clearTimeout(t), fail(e)));
  });
}

const hospitalSocket = (url: string, token: string): Socket =>
  io(url, { auth: { token }, transports: ['websocket'], forceNew: true, reconnection: false, timeout: STEP_TIMEOUT_MS });

/** Connects and says the minimal hello; resolves with the time connected and the time ready (ms since t0). */
async function joinOne(s: Socket, t0: number): Promise<{ connected: number; ready: number }> {
  await withTimeout(
    new Promise<void>((ok, fail) => {
      s.once('connect', () => ok());
      s.once('connect_error', (e) => fail(e));
    }),
    STEP_TIMEOUT_MS,
    'connect',
  );
  const connected = performance.now() - t0;
  const r = (await withTimeout(s.emitWithAck('hello', { backend: 'cpu', trainSamples: 10, testSamples: 5 }), STEP_TIMEOUT_MS, 'hello')) as { ok: boolean; error?: { message: string } };
  if (!r.ok) throw new Error(`hello refused: ${r.error?.message}`);
  return { connected, ready: performance.now() - t0 };
}

interface JoinFigures {
  hospitals: number;
  ok: number;
  failed: number;
  firstError: string | null;
  allConnectedMs: number | null;
  allReadyMs: number | null;
}

async function joinAll(sockets: Socket[]): Promise<JoinFigures> {
  const t0 = performance.now();
  const results = await Promise.allSettled(sockets.map((s) => joinOne(s, t0)));
  const ok = results.filter((r): r is PromiseFulfilledResult<{ connected: number; ready: number }> => r.status === 'fulfilled').map((r) => r.value);
  const failed = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected');
  return {
    hospitals: sockets.length,
    ok: ok.length,
    failed: failed.length,
    firstError: failed[0] ? String((failed[0].reason as Error)?.message ?? failed[0].reason) : null,
    allConnectedMs: failed.length ? null : round(Math.max(...ok.map((r) => r.connected))),
    allReadyMs: failed.length ? null : round(Math.max(...ok.map((r) => r.ready))),
  };
}

/** Wrong enrolment tokens from this one address, all at once. */
async function wrongTokens(url: string, n: number) {
  const t0 = performance.now();
  const outcomes = await Promise.all(
    Array.from({ length: n }, async () => {
      const s = hospitalSocket(url, `fwd_${randomBytes(24).toString('base64url')}`);
      try {
        await withTimeout(
          new Promise<void>((ok, fail) => {
            s.once('connect', () => ok());
            s.once('connect_error', (e) => fail(e));
          }),
          STEP_TIMEOUT_MS,
          'handshake',
        );
        return 'connected';
      } catch (e) {
        const m = (e as Error).message;
        return /too many/i.test(m) ? 'rateLimited' : /unknown or revoked/i.test(m) ? 'refused' : /no answer/.test(m) ? 'timeout' : `other: ${m}`;
      } finally {
        s.disconnect();
      }
    }),
  );
  const count = (k: string) => outcomes.filter((o) => o === k).length;
  const other = outcomes.filter((o) => o.startsWith('other'));
  return {
    attempts: n,
    refusedUnknownToken: count('refused'),
    refusedRateLimited: count('rateLimited'),
    connected: count('connected'),
    timeouts: count('timeout'),
    other: other.length,
    firstOther: other[0] ?? null,
    ms: round(performance.now() - t0),
  };
}

function postLogin(url: string, password: string): Promise<{ status: number; retryAfter: string | null; body: string }> {
  const { port } = new URL(url);
  const data = Buffer.from(JSON.stringify({ password }));
  return new Promise((resolve) => {
    const r = httpRequest(
      { host: '127.0.0.1', port: Number(port), path: '/api/admin/login', method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': data.length } },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, retryAfter: (res.headers['retry-after'] as string | undefined) ?? null, body }));
      },
    );
    r.on('error', (e) => resolve({ status: 0, retryAfter: null, body: e.message }));
    r.end(data);
  });
}

/** Wrong admin passwords: POST /api/admin/login, or (a server without it) the admin socket's auth { password }. */
async function wrongPasswords(url: string, n: number, concurrency: number) {
  const t0 = performance.now();
  const wrong = () => `wrong-${randomBytes(9).toString('base64url')}`;
  const first = await postLogin(url, wrong());
  const viaHttp = first.status === 401 || first.status === 429 || (first.status === 400 && first.body.includes('password'));
  const statuses: { status: number; retryAfter: boolean }[] = viaHttp ? [{ status: first.status, retryAfter: first.retryAfter !== null }] : [];
  const attempt = async (): Promise<{ status: number; retryAfter: boolean }> => {
    if (viaHttp) {
      const r = await postLogin(url, wrong());
      return { status: r.status, retryAfter: r.retryAfter !== null };
    }
    const s = io(`${url}/admin`, { auth: { password: wrong() }, transports: ['websocket'], forceNew: true, reconnection: false });
    try {
      await withTimeout(new Promise<void>((ok, fail) => (s.once('connect', () => ok()), s.once('connect_error', (e) => fail(e)))), STEP_TIMEOUT_MS, 'admin handshake');
      return { status: 200, retryAfter: false };
    } catch (e) {
      return { status: /too many/i.test((e as Error).message) ? 429 : /wrong|password|session/i.test((e as Error).message) ? 401 : 0, retryAfter: false };
    } finally {
      s.disconnect();
    }
  };
  let left = n - statuses.length;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, left) }, async () => {
      while (left > 0) {
        left -= 1;
        statuses.push(await attempt());
      }
    }),
  );
  const count = (st: number) => statuses.filter((s) => s.status === st).length;
  return {
    via: viaHttp ? 'POST /api/admin/login' : 'admin socket auth { password }',
    attempts: statuses.length,
    concurrency,
    unauthorized401: count(401),
    rateLimited429: count(429),
    rateLimitedWithRetryAfter: statuses.filter((s) => s.status === 429 && s.retryAfter).length,
    accepted200: count(200),
    other: statuses.filter((s) => ![200, 401, 429].includes(s.status)).length,
    ms: round(performance.now() - t0),
  };
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const nHospitals = Number(a.hospitals);
  const nWrongTokens = Number(a['wrong-tokens']);
  const nWrongPasswords = Number(a['wrong-passwords']);
  const loginConcurrency = Number(a['login-concurrency']);
  const adminPassword = randomBytes(18).toString('base64url');
  const log = (m: string) => (a.json ? process.stderr : process.stdout).write(`${m}\n`);

  log(`starting the server (${a['in-process'] ? 'in this process' : 'child process'})…`);
  const profile = profileSpec();
  const server = a['in-process'] ? await startHere(adminPassword, profile) : await startChild(adminPassword, profile);
  let sockets: Socket[] = [];
  try {
    const run = async (): Promise<Record<string, unknown>> => {
      const tokens = await server.tokens(nHospitals, 'load');
      const probe = await healthProbe(server.url);
      // Both sides learn of a phase at once: the prober tags its samples, the server resets its loop-delay histogram.
      const phase = (p: string) => {
        probe.phase = p;
        server.phase(p);
      };
      phase('baseline');
      await sleep(1_000);

      phase('connect');
      log(`${nHospitals} hospitals connecting and saying hello…`);
      sockets = tokens.map((t) => hospitalSocket(server.url, t));
      const connect = await joinAll(sockets);

      phase('storm');
      log('reconnect storm…');
      const tStorm = performance.now();
      for (const s of sockets) s.disconnect();
      sockets = tokens.map((t) => hospitalSocket(server.url, t));
      const storm = { ...(await joinAll(sockets)), sinceDisconnectMs: round(performance.now() - tStorm) };

      phase('wrong-tokens');
      log(`${nWrongTokens} wrong enrolment tokens…`);
      const tokensFigures = await wrongTokens(server.url, nWrongTokens);

      phase('wrong-passwords');
      log(`${nWrongPasswords} wrong admin passwords…`);
      const passwords = await wrongPasswords(server.url, nWrongPasswords, loginConcurrency);

      phase('after');
      await sleep(1_000);
      const stillConnected = sockets.filter((s) => s.connected).length;
      await probe.stop();
      const report = await withTimeout(server.report(), STEP_TIMEOUT_MS, 'the server\'s loop-delay report');

      const phases = PHASES;
      return {
        mode: a['in-process'] ? 'in-process' : 'child-process',
        hospitals: nHospitals,
        connect,
        storm,
        wrongTokens: tokensFigures,
        wrongAdminPasswords: passwords,
        stillConnectedAtEnd: stillConnected,
        healthz: { everyMs: HEALTHZ_EVERY_MS, prober: 'worker thread', phases: Object.fromEntries(phases.map((p) => [p, probe.by(p)])), overall: probe.by() },
        serverLoopDelay: {
          resolutionMs: LOOP_RESOLUTION_MS,
          measuredIn: a['in-process'] ? 'this process (shared with the load generator)' : 'the server process',
          unit: `ms late beyond the ${LOOP_RESOLUTION_MS} ms timer`,
          phases: Object.fromEntries(phases.map((p) => [p, report.loopDelay[p] ?? null])),
        },
        ...(report.profile && { profile: summarizeProfile(report.profile) }),
      };
    };
    const result = await Promise.race([run(), server.crashed]);
    print(result, Boolean(a.json));
  } finally {
    for (const s of sockets) s.disconnect();
    await server.close();
  }
}

function print(r: Record<string, unknown>, json: boolean): void {
  const out = json ? process.stderr : process.stdout;
  const c = r.connect as JoinFigures;
  const s = r.storm as JoinFigures & { sinceDisconnectMs: number };
  const t = r.wrongTokens as Awaited<ReturnType<typeof wrongTokens>>;
  const p = r.wrongAdminPasswords as Awaited<ReturnType<typeof wrongPasswords>>;
  const h = r.healthz as { phases: Record<string, Latency>; overall: Latency };
  const ms = (x: number | null) => (x === null ? '—' : `${x} ms`);
  const rows: [string, string][] = [
    ['connect + hello', `${c.ok}/${c.hospitals} ok; all connected ${ms(c.allConnectedMs)}, all ready ${ms(c.allReadyMs)}${c.firstError ? `; first error: ${c.firstError}` : ''}`],
    ['reconnect storm', `${s.ok}/${s.hospitals} back; all connected ${ms(s.allConnectedMs)}, all ready ${ms(s.allReadyMs)} (${ms(s.sinceDisconnectMs)} since the disconnects)${s.firstError ? `; first error: ${s.firstError}` : ''}`],
    ['wrong tokens', `${t.attempts} in ${ms(t.ms)}: ${t.refusedUnknownToken} "unknown or revoked", ${t.refusedRateLimited} "too many"${t.connected ? `, ${t.connected} CONNECTED` : ''}${t.timeouts ? `, ${t.timeouts} timed out` : ''}${t.other ? `, ${t.other} other (${t.firstOther})` : ''}`],
    ['wrong admin passwords', `${p.attempts} via ${p.via} (${p.concurrency} in parallel) in ${ms(p.ms)}: ${p.unauthorized401}×401, ${p.rateLimited429}×429 (${p.rateLimitedWithRetryAfter} with Retry-After)${p.accepted200 ? `, ${p.accepted200} ACCEPTED` : ''}${p.other ? `, ${p.other} other` : ''}`],
    ['still connected at the end', `${r.stillConnectedAtEnd as number}/${r.hospitals as number}`],
  ];
  out.write(`\nFedward load test (${r.mode as string})\n`);
  for (const [k, v] of rows) out.write(`  ${k.padEnd(28)} ${v}\n`);
  const loop = r.serverLoopDelay as { phases: Record<string, LoopDelay | null>; measuredIn: string };
  const f = (x: string | number | null | undefined, w = 8) => (x === null || x === undefined ? '—' : String(x)).padStart(w);
  out.write(`\n  ${''.padEnd(22)} /healthz every ${HEALTHZ_EVERY_MS} ms (prober in a worker thread)   server event-loop delay (ms late; ${loop.measuredIn})\n`);
  out.write(`  ${'phase'.padEnd(22)} ${'n'.padStart(5)} ${'err'.padStart(5)}${f('p50 ms', 10)}${f('p99 ms', 10)}${f('max ms', 10)}     ${'n'.padStart(5)}${f('p50')}${f('p99')}${f('max')}\n`);
  for (const [phase, l] of [...Object.entries(h.phases), ['overall', h.overall] as const]) {
    const d = loop.phases[phase];
    const delay = d ? `${String(d.n).padStart(5)}${f(d.p50)}${f(d.p99)}${f(d.max)}` : '';
    out.write(`  ${phase.padEnd(22)} ${String(l.n).padStart(5)} ${String(l.errors).padStart(5)}${f(l.p50, 10)}${f(l.p99, 10)}${f(l.max, 10)}     ${delay}\n`);
  }
  const prof = r.profile as ReturnType<typeof summarizeProfile> | undefined;
  if (prof) {
    out.write(`\n  server CPU profile (sampled every ${prof.intervalUs} µs): ${prof.file}\n`);
    const rows = (title: string, xs: ProfileRow[]) => {
      out.write(`    ${title}\n`);
      for (const x of xs) out.write(`    ${String(x.ms).padStart(9)} ms ${`${x.pct}%`.padStart(6)}  ${x.function}  ${x.where}\n`);
    };
    for (const [phase, p] of Object.entries(prof.phases)) {
      out.write(`\n  ${phase}: ${p.sampledMs} ms sampled, ${p.busyMs} ms busy (% below: of busy time)\n`);
      out.write('    self time by file or package\n');
      for (const x of p.byFile) out.write(`    ${String(x.ms).padStart(9)} ms ${`${x.pct}%`.padStart(6)}  ${x.file}\n`);
      rows(`self time by function (top ${PROFILE_TOP})`, p.self);
      rows(`this repository's functions by total time, callees included (top ${PROFILE_TOP})`, p.projectTotal);
      const lb = p.longestBusy;
      out.write(`    longest busy stretch (no idle sample): ${lb.ms} ms, from ${lb.atMs} ms into the phase\n`);
      rows('  self time by function (top 10)', lb.self);
      rows("  this repository's functions by total time (top 10)", lb.projectTotal);
    }
  }
  if (json) process.stdout.write(`${JSON.stringify(r)}\n`);
}

if (a.serve) {
  void serve();
} else {
  process.on('unhandledRejection', (e) => {
    console.error('load test crashed:', e);
    process.exit(1);
  });
  main().then(
    () => process.exit(0),
    (e: unknown) => {
      console.error('load test failed:', (e as Error)?.stack ?? e);
      process.exit(1);
    },
  );
}
