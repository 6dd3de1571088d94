/**
 * Browser version of the import benchmark (the default of `npm run bench:import`):
 * writes `slices` generated 16-bit DICOM files to a temporary folder, builds
 * a small page (browser/) with vite, serves it on 127.0.0.1, and in headless
 * Chromium (Debian's /usr/bin/chromium, a persistent profile so IndexedDB is
 * on disk as in a real browser) picks that folder through a real
 * <input webkitdirectory> with setInputFiles. The page hands the File objects
 * to a Web Worker that runs importFiles() into IndexedDB, as the hospital app
 * does. Memory is sampled from /proc while the import runs.
 */
import { createReadStream } from 'node:fs';
import { mkdtemp, readdir, readFile, rm, stat } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type BrowserContext, type CDPSession, type Page } from 'playwright-core';
import { build } from 'vite';
import { generateFederation } from '../src/node/generate';
import type { PageResult } from './browser/protocol';

const here = path.dirname(fileURLToPath(import.meta.url));
const pageDir = path.join(here, 'browser');
const outDir = path.join(here, '..', '.bench-dist', 'import');

export interface BrowserBenchOptions {
  slices: number;
  size: number;
  targetSize: number;
  runs: number;
  breakdown: boolean;
  /** CPU-profile the import worker (DevTools Profiler) and print where its time went. */
  profile: boolean;
  /** importFiles' readAhead (its default when undefined). */
  readAhead?: number;
  chromiumPath: string;
}

const log = (line = ''): void => void process.stdout.write(`${line}\n`);
const mib = (bytes: number): string => (bytes / 2 ** 20).toFixed(0);

/** Minified like the app's build, except when profiling (readable function names). */
async function buildPage(minify: boolean): Promise<void> {
  await build({
    root: pageDir,
    configFile: false,
    base: './',
    logLevel: 'warn',
    worker: { format: 'es' },
    build: { outDir, emptyOutDir: true, chunkSizeWarningLimit: 4000, reportCompressedSize: false, minify },
  });
}

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.wasm': 'application/wasm',
};

/** Static files on 127.0.0.1, cross-origin isolated like the hospital app (COOP/COEP). */
async function serve(root: string): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    const file = path.join(root, pathname === '/' ? 'index.html' : pathname);
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cache-Control': 'no-store',
    };
    stat(file).then(
      (s) => {
        if (!file.startsWith(root + path.sep) || !s.isFile()) throw new Error('not a file');
        res.writeHead(200, { ...headers, 'Content-Type': contentTypes[path.extname(file)] ?? 'application/octet-stream' });
        createReadStream(file).pipe(res);
      },
      () => undefined,
    ).catch(() => res.writeHead(404, headers).end());
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/`, close: () => new Promise((ok) => server.close(() => ok())) };
}

type ProcessKind = 'browser' | 'renderer' | 'gpu' | 'utility' | 'other';
interface MemorySample {
  /** CPU seconds (user + system) used so far, per process kind, from /proc/PID/stat. */
  cpu: Record<ProcessKind, number>;
  /** Proportional set size (shared pages split between the processes sharing them) per process kind. */
  pss: Record<ProcessKind, number>;
  rss: Record<ProcessKind, number>;
  totalPss: number;
  totalRss: number;
}

/**
 * Chromium's processes for this run are the ones started with our
 * --user-data-dir; PSS and RSS come from /proc/PID/smaps_rollup, CPU time
 * from /proc/PID/stat (Linux only).
 */
/** USER_HZ: /proc reports CPU time in ticks of 1/100 s on Linux. */
const CLOCK_TICKS = 100;

class ChromiumMemory {
  private readonly kinds = new Map<number, ProcessKind | null>();
  constructor(private readonly userDataDir: string) {}

  private async kindOf(pid: number): Promise<ProcessKind | null> {
    if (this.kinds.has(pid)) return this.kinds.get(pid)!;
    let kind: ProcessKind | null = null;
    try {
      // Zygote-forked children rewrite their title: one space-separated string instead of NUL-separated args.
      const args = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split(/[\0 ]/);
      if (args.includes(`--user-data-dir=${this.userDataDir}`)) {
        const type = args.find((a) => a.startsWith('--type='))?.slice('--type='.length);
        kind = type === undefined ? 'browser' : type === 'renderer' ? 'renderer' : type === 'gpu-process' ? 'gpu' : type === 'utility' ? 'utility' : 'other';
      }
    } catch {
      kind = null;
    }
    this.kinds.set(pid, kind);
    return kind;
  }

  async sample(): Promise<MemorySample> {
    const zero = (): Record<ProcessKind, number> => ({ browser: 0, renderer: 0, gpu: 0, utility: 0, other: 0 });
    const s: MemorySample = { cpu: zero(), pss: zero(), rss: zero(), totalPss: 0, totalRss: 0 };
    for (const entry of await readdir('/proc')) {
      const pid = Number(entry);
      if (!Number.isInteger(pid)) continue;
      const kind = await this.kindOf(pid);
      if (kind === null) continue;
      let text: string;
      let stat: string;
      try {
        [text, stat] = await Promise.all([readFile(`/proc/${pid}/smaps_rollup`, 'utf8'), readFile(`/proc/${pid}/stat`, 'utf8')]);
      } catch {
        continue; // exited
      }
      // Fields after the parenthesised command name; utime and stime are the 14th and 15th of the line.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      s.cpu[kind] += (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
      const kb = (field: string): number => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text)?.[1] ?? 0) * 1024;
      s.pss[kind] += kb('Pss');
      s.rss[kind] += kb('Rss');
    }
    s.totalPss = Object.values(s.pss).reduce((a, b) => a + b, 0);
    s.totalRss = Object.values(s.rss).reduce((a, b) => a + b, 0);
    return s;
  }
}

interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
}

/**
 * DevTools access to the page and its import worker through the page's CDP session; the worker
 * is reached with auto-attach and Target.sendMessageToTarget. Samples the V8 heap in use
 * (Runtime.getHeapUsage: JS objects, not ArrayBuffer contents) and, with --profile, records a
 * CPU profile of the worker.
 */
class DevTools {
  peakPage = 0;
  peakWorker = 0;
  private workerSession: string | null = null;
  private nextId = 1;
  private readonly replies = new Map<number, (result: unknown) => void>();

  private constructor(
    private readonly cdp: CDPSession,
    profile: boolean,
  ) {
    cdp.on('Target.attachedToTarget', (e) => {
      if (e.targetInfo.type !== 'worker') return;
      this.workerSession = e.sessionId;
      if (profile)
        void this.toWorker('Profiler.enable')
          .then(() => this.toWorker('Profiler.setSamplingInterval', { interval: 200 }))
          .then(() => this.toWorker('Profiler.start'));
    });
    cdp.on('Target.detachedFromTarget', (e) => {
      if (e.sessionId === this.workerSession) this.workerSession = null;
    });
    cdp.on('Target.receivedMessageFromTarget', (e) => {
      const msg = JSON.parse(e.message) as { id?: number; result?: unknown };
      if (msg.id !== undefined) this.replies.get(msg.id)?.(msg.result);
    });
  }

  static async attach(page: Page, profile: boolean): Promise<DevTools> {
    const cdp = await page.context().newCDPSession(page);
    const tools = new DevTools(cdp, profile);
    await cdp.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
    return tools;
  }

  /** A command to the worker; undefined when there is none or it does not answer in time. */
  async toWorker(method: string, params: object = {}, timeoutMs = 1000): Promise<unknown> {
    const sessionId = this.workerSession;
    if (!sessionId) return undefined;
    const id = this.nextId++;
    const reply = new Promise<unknown>((ok) => {
      this.replies.set(id, ok);
      setTimeout(() => ok(undefined), timeoutMs);
    });
    await this.cdp.send('Target.sendMessageToTarget', { sessionId, message: JSON.stringify({ id, method, params }) }).catch(() => undefined);
    const result = await reply;
    this.replies.delete(id);
    return result;
  }

  async sampleHeap(): Promise<void> {
    const page = await this.cdp.send('Runtime.getHeapUsage').catch(() => undefined);
    if (page) this.peakPage = Math.max(this.peakPage, page.usedSize);
    const worker = (await this.toWorker('Runtime.getHeapUsage')) as { usedSize?: number } | undefined;
    if (worker?.usedSize !== undefined) this.peakWorker = Math.max(this.peakWorker, worker.usedSize);
  }

  async stopProfile(): Promise<CpuProfile | undefined> {
    return ((await this.toWorker('Profiler.stop', {}, 30_000)) as { profile?: CpuProfile } | undefined)?.profile;
  }

  async detach(): Promise<void> {
    await this.cdp.detach().catch(() => undefined);
  }
}

/** Self time per function of a CPU profile, largest first. */
function selfTimes(profile: CpuProfile): { name: string; ms: number; share: number }[] {
  const byNode = new Map<number, number>();
  profile.samples.forEach((id, i) => byNode.set(id, (byNode.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0)));
  const byName = new Map<string, number>();
  let total = 0;
  for (const node of profile.nodes) {
    const us = byNode.get(node.id) ?? 0;
    total += us;
    const { functionName, url, lineNumber } = node.callFrame;
    const name = `${functionName || '(anonymous)'}${url ? ` ${url.split('/').pop()}:${lineNumber + 1}` : ''}`;
    byName.set(name, (byName.get(name) ?? 0) + us);
  }
  return [...byName].map(([name, us]) => ({ name, ms: us / 1000, share: us / total })).sort((a, b) => b.ms - a.ms);
}

interface RunFigures {
  page: PageResult;
  pickMs: number;
  baseline: MemorySample;
  /** Sampled when setInputFiles returned (the page's change handler, which posts the Files, has run). */
  afterPick: MemorySample;
  /** Sampled when the import is over: with `baseline`, the CPU time the import took. */
  end: MemorySample;
  peak: MemorySample;
  peakByKind: Record<ProcessKind, number>;
  samples: number;
  heap: { page: number; worker: number };
  profile?: CpuProfile;
  load: [number, number];
}

async function runOnce(context: BrowserContext, url: string, folder: string, options: BrowserBenchOptions, memory: ChromiumMemory): Promise<RunFigures> {
  const page: Page = await context.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.querySelector('#status')?.textContent === 'ready');
    await page.evaluate((o) => (window.__benchOptions = o), {
      targetSize: options.targetSize,
      storeName: 'fedward-bench',
      breakdown: options.breakdown,
      keepWorker: options.profile,
      ...(options.readAhead === undefined ? {} : { readAhead: options.readAhead }),
    });
    const baseline = await memory.sample();
    let peak = baseline;
    const peakByKind = { ...baseline.pss };
    let samples = 0;
    let sampling = true;
    const devtools = await DevTools.attach(page, options.profile);
    const pause = () => new Promise((ok) => setTimeout(ok, 50));
    const sampler = Promise.all([
      (async () => {
        while (sampling) {
          const s = await memory.sample();
          samples++;
          if (s.totalPss > peak.totalPss) peak = s;
          for (const k of Object.keys(peakByKind) as ProcessKind[]) peakByKind[k] = Math.max(peakByKind[k], s.pss[k]);
          await pause();
        }
      })(),
      (async () => {
        while (sampling) {
          await devtools.sampleHeap();
          await pause();
        }
      })(),
    ]);
    const load0 = loadavg()[0]!;
    const t0 = performance.now();
    await page.locator('#folder').setInputFiles(folder);
    const pickMs = performance.now() - t0;
    const afterPick = await memory.sample();
    const settled = (states: string[]) =>
      page.waitForFunction((s) => s.includes(window.__bench?.state ?? ''), states, { timeout: 600_000, polling: 100 });
    let profile: CpuProfile | undefined;
    let end = baseline;
    try {
      await settled(['imported', 'done', 'error']);
      end = await memory.sample();
      if (options.profile) {
        profile = await devtools.stopProfile();
        await page.evaluate(() => window.__benchRelease?.());
      }
    } finally {
      sampling = false;
      await sampler;
      await devtools.detach();
    }
    await settled(['done', 'error']);
    const state = await page.evaluate(() => window.__bench!);
    if (state.state !== 'done' || !state.result) throw new Error(`import failed in the page: ${state.error ?? state.state}`);
    return { page: state.result, pickMs, baseline, afterPick, end, peak, peakByKind, samples, heap: { page: devtools.peakPage, worker: devtools.peakWorker }, ...(profile ? { profile } : {}), load: [load0, loadavg()[0]!] };
  } finally {
    await page.close();
  }
}

async function dirBytes(dir: string): Promise<number> {
  let total = 0;
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
    const p = path.join(dir, e.name);
    total += e.isDirectory() ? await dirBytes(p) : await stat(p).then((s) => s.size, () => 0);
  }
  return total;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

export async function runBrowserBench(options: BrowserBenchOptions): Promise<boolean> {
  const { slices, size, targetSize } = options;
  const work = await mkdtemp(path.join(tmpdir(), 'fedward-import-bench-'));
  const dataDir = path.join(work, 'data');
  const userDataDir = path.join(work, 'profile');
  let server: Awaited<ReturnType<typeof serve>> | undefined;
  let context: BrowserContext | undefined;
  try {
    let t = performance.now();
    const generated = await generateFederation({ outDir: dataDir, format: 'dicom', hospitals: 1, task: 'classification', size, slicesPerHospital: slices, seed: 'bench' });
    const hospital = generated.hospitals[0]!;
    const dicomFiles = hospital.files.filter((f) => f.endsWith('.dcm'));
    let inputBytes = 0;
    for (const f of dicomFiles) inputBytes += (await stat(f)).size;
    log(`generated ${dicomFiles.length} DICOM files (${size}×${size}, 16-bit, ${(inputBytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    t = performance.now();
    await buildPage(!options.profile);
    log(`built the bench page with vite in ${((performance.now() - t) / 1000).toFixed(1)} s`);
    server = await serve(outDir);
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: options.chromiumPath,
      headless: true,
      args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--disable-quic'],
    });
    const version = context.browser()?.version() ?? (await context.newCDPSession(context.pages()[0] ?? (await context.newPage())).then((s) => s.send('Browser.getVersion'))).product;
    const memory = new ChromiumMemory(userDataDir);
    const runs: RunFigures[] = [];
    for (let i = 0; i < options.runs; i++) {
      const r = await runOnce(context, server.url, hospital.dir, options, memory);
      runs.push(r);
      const rate = r.page.imported / (r.page.wallMs / 1000);
      log(`run ${i + 1}: ${r.page.imported} slices in ${(r.page.wallMs / 1000).toFixed(2)} s = ${rate.toFixed(0)} slices/s; peak PSS ${mib(r.peak.totalPss)} MiB; load ${r.load[0].toFixed(2)} → ${r.load[1].toFixed(2)}`);
    }
    const idbBytes = await dirBytes(path.join(userDataDir, 'Default', 'IndexedDB'));

    const last = runs.at(-1)!;
    const rates = runs.map((r) => r.page.imported / (r.page.wallMs / 1000));
    const best = Math.max(...rates);
    const med = median(rates);
    const worst = runs.reduce((a, r) => (r.peak.totalPss > a.peak.totalPss ? r : a));
    const s = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;
    const share = (ms: number): string => `${((100 * ms) / last.page.importMs).toFixed(0)}%`;
    // What the generator says it wrote (federation.json) is what every run must have stored.
    const written = (JSON.parse(await readFile(path.join(dataDir, 'federation.json'), 'utf8')) as { hospitals: { slices: number; patients: number; counts: Record<string, number> }[] }).hospitals[0]!;
    const sameCounts = (a: Record<string, number>, b: Record<string, number>): boolean =>
      Object.keys(a).length === Object.keys(b).length && Object.entries(a).every(([k, v]) => b[k] === v);
    const expectedOk = runs.every(
      (r) =>
        r.page.imported === written.slices &&
        r.page.failed.length === 0 &&
        r.page.summary.slices === written.slices &&
        r.page.summary.patientCount === written.patients &&
        sameCounts(r.page.summary.labels, written.counts),
    );

    log();
    log(`import-bench: headless ${version} (${options.chromiumPath}), IndexedDB on disk (persistent profile), import in a Web Worker`);
    log(`input: ${dicomFiles.length} DICOM files + manifest.csv, ${size}×${size} 16-bit CT, ${(inputBytes / 1e6).toFixed(1)} MB; stored at ${targetSize}×${targetSize}; picked with setInputFiles on the folder; readAhead ${options.readAhead ?? 'default'}`);
    log();
    log('                                        median      best     (runs: ' + runs.map((_, i) => `#${i + 1}`).join(' ') + ')');
    log(`slices/s (change event → worker done)  ${med.toFixed(0).padStart(6)}    ${best.toFixed(0).padStart(6)}     ${rates.map((r) => r.toFixed(0)).join(' ')}   goal ≥ 500: ${med >= 500 ? 'met' : 'NOT met'}`);
    log(`wall time                               ${s(median(runs.map((r) => r.page.wallMs))).padStart(7)}`);
    log(`  posting the Files to the worker       ${s(median(runs.map((r) => r.page.postMs))).padStart(7)}   (page main thread; Chromium fetches each picked file's metadata)`);
    log(`  worker 'ready' after the change event ${s(median(runs.map((r) => r.page.workerStartMs))).padStart(7)}`);
    log(`  importFiles()                         ${s(median(runs.map((r) => r.page.importMs))).padStart(7)}`);
    const cpuOf = (from: MemorySample, to: MemorySample, k?: ProcessKind): number =>
      k ? to.cpu[k] - from.cpu[k] : (Object.keys(to.cpu) as ProcessKind[]).reduce((a, kk) => a + to.cpu[kk] - from.cpu[kk], 0);
    const cpuLine = (label: string, from: (r: RunFigures) => MemorySample, to: (r: RunFigures) => MemorySample): void =>
      log(`${label.padEnd(40)}${`${median(runs.map((r) => cpuOf(from(r), to(r)))).toFixed(2)} s`.padStart(7)}   (renderer ${median(runs.map((r) => cpuOf(from(r), to(r), 'renderer'))).toFixed(2)} s, browser ${median(runs.map((r) => cpuOf(from(r), to(r), 'browser'))).toFixed(2)} s)`);
    log(`CPU time of Chromium's processes (/proc/PID/stat):`);
    cpuLine('  picking: setInputFiles + posting Files', (r) => r.baseline, (r) => r.afterPick);
    cpuLine('  importing: until the worker is done', (r) => r.afterPick, (r) => r.end);
    log(`  = ${median(runs.map((r) => r.page.imported / cpuOf(r.baseline, r.end))).toFixed(0)} slices per CPU-second in all (less sensitive to other load than slices/s)`);
    log(`setInputFiles call (Playwright)         ${s(median(runs.map((r) => r.pickMs))).padStart(7)}   (returns after the page's change handler, i.e. after the posting above)`);
    log();
    log(`inside importFiles() (its ImportResult.waits; last run, ${s(last.page.importMs)}):`);
    log(`  waiting for file bytes                ${s(last.page.readWaitMs).padStart(7)}  ${share(last.page.readWaitMs).padStart(4)}`);
    log(`  waiting for IndexedDB writes          ${s(last.page.storeWaitMs).padStart(7)}  ${share(last.page.storeWaitMs).padStart(4)}`);
    const rest = last.page.importMs - last.page.readWaitMs - last.page.storeWaitMs;
    log(`  the rest: decode, window, resize, hash ${s(rest).padStart(6)}  ${share(rest).padStart(4)}`);
    if (last.page.breakdown) {
      const b = last.page.breakdown;
      const per = (ms: number): string => `${((1000 * ms) / b.files).toFixed(0).padStart(5)} µs/slice`;
      log();
      log(`each stage alone over the same ${b.files} files (after the timed run; not part of the figure):`);
      for (const [name, ms] of [['read (File.arrayBuffer)', b.readMs], ['decode (decodeDicom)', b.decodeMs], ['window (dicomToUnit)', b.windowMs], ['resize (resizeSquare)', b.resizeMs], ['quantize', b.quantizeMs], ['hash (salted SHA-256)', b.hashMs], ['IndexedDB putBatch ×64', b.storeMs]] as const)
        log(`  ${name.padEnd(26)} ${s(ms).padStart(7)}  ${per(ms)}`);
    }
    if (last.profile) {
      log();
      log(`import worker CPU profile (last run; self time, sampled every 200 µs; idle = waiting for reads/writes or for the CPU):`);
      for (const f of selfTimes(last.profile).slice(0, 15)) log(`  ${f.ms.toFixed(0).padStart(6)} ms ${(100 * f.share).toFixed(1).padStart(5)}%  ${f.name}`);
    }
    log();
    log(`memory, Chromium processes of this profile, from /proc/PID/smaps_rollup (PSS; RSS double-counts shared pages), sampled every ~50 ms:`);
    log(`  peak total PSS ${mib(worst.peak.totalPss)} MiB (RSS ${mib(worst.peak.totalRss)} MiB) at run #${runs.indexOf(worst) + 1}; before the folder was picked ${mib(worst.baseline.totalPss)} MiB → +${mib(worst.peak.totalPss - worst.baseline.totalPss)} MiB during the import`);
    log(`  peak PSS per process kind: ${(Object.entries(worst.peakByKind) as [ProcessKind, number][]).filter(([, v]) => v > 0).map(([k, v]) => `${k} ${mib(v)} MiB (before ${mib(worst.baseline.pss[k])})`).join(', ')}`);
    log(`  (the renderer holds the page and the import worker; IndexedDB lives in the browser process; ${worst.samples} samples)`);
    log(`  peak V8 heap in use (CDP Runtime.getHeapUsage, without ArrayBuffer contents): import worker ${mib(Math.max(...runs.map((r) => r.heap.worker)))} MiB, page ${mib(Math.max(...runs.map((r) => r.heap.page)))} MiB`);
    log(`IndexedDB on disk after the last run: ${(idbBytes / 1e6).toFixed(1)} MB for ${last.page.summary.slices} slices (${last.page.summary.batches} batches, ${(last.page.summary.bytes / 1e6).toFixed(1)} MB of pixels)`);
    log(`summary: ${JSON.stringify(last.page.summary.labels)}, ${last.page.summary.patientCount} patients; failed ${last.page.failed.length}, skipped ${last.page.skipped}`);
    log(`machine: ${(await readFile('/proc/cpuinfo', 'utf8')).match(/^processor/gm)?.length ?? '?'} CPUs, 1-min load ${runs.map((r) => r.load[0].toFixed(2)).join(', ')} at the start of each run`);
    if (!expectedOk) log(`ERROR: expected every run to store the ${written.slices} slices, ${JSON.stringify(written.counts)}, ${written.patients} patients of federation.json, and no failures`);
    return expectedOk;
  } finally {
    await context?.close();
    await server?.close();
    await rm(work, { recursive: true, force: true });
  }
}
