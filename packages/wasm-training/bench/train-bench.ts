/**
 * npm run bench:train [-- --json] [--backends wasm,webgl,cpu,webgpu] [--models cnn,unet,densenet,vgg-slim]
 *                     [--threads 1,2] [--batch 32] [--rounds 3] [--profile]
 *                     [--python PATH] [--debian-python PATH|none] [--compile auto|on|off]
 *
 * Trains the issue's reference CNN, the U-Net / DenseNet stand-ins and the shipped VGG-slim (bench/models.ts) in
 * headless Chromium with the product's training step (tf.variableGrads + @fedward/models'
 * AdamOptimizer, the fused Adam kernel on wasm), and their PyTorch twins (bench/torch_train.py)
 * with the same batch and threads: PyTorch 2.x at its best (the interpreter of `--python`,
 * $FEDWARD_TORCH_PYTHON, the repo's .venv-torch, or python3; glibc allocator variables,
 * channels-last, eager and torch.compile as two contenders) and, as a second row, Debian's
 * build (/usr/bin/python3, untuned) where it is another torch. Without torch the PyTorch rows
 * are left out, with the reason.
 *
 * On a shared machine the load drifts within seconds, so the contenders run interleaved in
 * rounds: per model and thread count the PyTorch processes (kept warm between rounds) then
 * wasm, each round's ratio compares runs seconds apart, and the summary gives medians over the
 * rounds. Every round also measures the wasm SIMD ceiling (bench/simd-ceiling.ts) in Chromium
 * per thread count; GFLOP/s come from an analytic count of the models' multiply-adds
 * (bench/flops.ts). The 1-minute load average is printed beside every figure. `--profile` also
 * prints the wasm runs' time per kernel; `--json` prints all figures as JSON on the last line.
 */
import { chromium } from 'playwright-core';
import type { Browser, Page } from 'playwright-core';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRequest, BenchResult, CeilingResult } from './page/protocol';
import { buildPage } from './build-page';
import { forwardMacs } from './flops';
import { benchModels } from './models';
import { serveIsolated } from './serve';
import { TorchWorker, defaultVenvPython, probeTorch, tunedPython } from './torch-peer';
import type { TorchProbe, TorchSetting } from './torch-peer';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, '..', '.bench-dist');

const args = process.argv.slice(2);
const json = args.includes('--json');
const profile = args.includes('--profile');
const argValue = (name: string): string | undefined => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : undefined;
};
const listArg = (name: string, all: string[]): string[] => argValue(name)?.split(',') ?? all;
const backends = listArg('--backends', ['wasm', 'webgl', 'cpu', 'webgpu']);
const models = listArg('--models', ['cnn', 'unet', 'densenet']);
const threadCounts = listArg('--threads', ['1', '2']).map(Number);
const batch = Number(argValue('--batch') ?? 32);
const rounds = Math.max(1, Number(argValue('--rounds') ?? 3));
const compile = (argValue('--compile') ?? 'auto') as 'auto' | 'on' | 'off';
const debianOption = argValue('--debian-python') ?? '/usr/bin/python3';
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);
const load = () => os.loadavg()[0]!;
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Run {
  label: string;
  request: BenchRequest;
}

const run = (label: string, r: Partial<BenchRequest> & Pick<BenchRequest, 'backend' | 'model'>): Run => ({
  label,
  request: { batch, mode: 'loop', warmupSteps: 3, maxSteps: 200, maxSeconds: 25, profile: profile && r.backend === 'wasm', ...r },
});
const wanted = (r: Run) => backends.includes(r.request.backend) && models.includes(r.request.model);

/** Everything not interleaved, once: model.fit, the slow backends. */
function otherRuns(): Run[] {
  const runs = [
    run('wasm model.fit', { backend: 'wasm', model: 'cnn', threads: 2, mode: 'fit' }),
    // SwiftShader and the cpu backend need seconds per step: few steps.
    run('webgl', { backend: 'webgl', model: 'cnn', warmupSteps: 1, maxSteps: 10, maxSeconds: 40 }),
    run('cpu', { backend: 'cpu', model: 'cnn', warmupSteps: 1, maxSteps: 5, maxSeconds: 30 }),
    run('webgpu', { backend: 'webgpu', model: 'cnn', warmupSteps: 1, maxSteps: 5, maxSeconds: 40 }),
  ];
  for (const model of ['unet', 'densenet']) {
    runs.push(run('webgl', { backend: 'webgl', model, batch: 16, warmupSteps: 1, maxSteps: 5, maxSeconds: 40 }));
  }
  return runs.filter(wanted);
}

async function inPage<T>(browser: Browser, url: string, budgetMs: number, f: (page: Page) => Promise<T>): Promise<T> {
  const page = await browser.newPage();
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${budgetMs / 1000} s`)), budgetMs);
    });
    try {
      return await Promise.race([f(page), timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await page.close();
  }
}

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
};
const fmt = (v: number | undefined, digits = 1) => (v === undefined ? '-' : v.toFixed(digits));
const list = (v: number[], digits = 0) => v.map((x) => x.toFixed(digits)).join(', ');

/** A contender of one model and thread count: its figure per round. */
interface Contender {
  key: 'fedward' | 'torch_eager' | 'torch_compile' | 'torch_debian';
  label: string;
  samples: number[];
  load: number[];
  /** The Fedward run's samples/s ÷ this one's, per round where both ran. */
  ratios: number[];
  errors: string[];
  worker?: TorchWorker;
  note?: string;
}

interface Cell {
  model: string;
  threads: number;
  contenders: Contender[];
  /** Per round: Fedward ÷ the faster tuned PyTorch contender of that round. */
  bestTunedRatios: number[];
}

async function main(): Promise<void> {
  const startLoad = os.loadavg();
  log(`machine: ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), load average ${startLoad.map((l) => l.toFixed(2)).join(' ')}`);

  // The models' arithmetic, counted on their TF.js definitions.
  const specs = benchModels().filter((m) => models.includes(m.name));
  const flops = new Map<string, { macs: number; flops: number; description: string }>();
  for (const spec of specs) {
    const model = spec.build();
    const macs = forwardMacs(model).reduce((s, l) => s + l.macs, 0);
    model.dispose();
    flops.set(spec.name, { macs, flops: 6 * macs, description: spec.description });
  }

  // The PyTorch peers.
  const tuned = probeTorch(tunedPython(argValue('--python')));
  const debian: TorchProbe | null = debianOption === 'none' ? null : probeTorch(debianOption);
  const torchNotes: string[] = [];
  if (tuned.error !== undefined) {
    torchNotes.push(`no tuned PyTorch rows: ${tuned.python} cannot import torch (${tuned.error}); make ${defaultVenvPython} `
      + 'with `python3 -m venv .venv-torch && .venv-torch/bin/pip install torch` in the repo root, or pass --python PATH');
  }
  const useDebian = debian !== null && debian.error === undefined && debian.file !== tuned.file;
  if (debian === null) torchNotes.push('no Debian row: --debian-python none');
  else if (debian.error !== undefined) torchNotes.push(`no Debian row: ${debian.python} cannot import torch (apt-get install python3-torch)`);
  else if (!useDebian) torchNotes.push(`no Debian row: ${debian.python} has the same torch as the tuned row`);

  const cells: Cell[] = [];
  for (const spec of specs) {
    for (const threads of threadCounts) {
      const contenders: Contender[] = [];
      const torchSetting = (python: string, t: boolean, c: 'on' | 'off'): TorchSetting => (
        { python, model: spec.name, threads, batch, tuned: t, compile: c });
      const settings: Array<[Contender['key'], string, TorchSetting]> = [];
      if (tuned.error === undefined) {
        const label = `PyTorch ${tuned.version} tuned`;
        if (compile !== 'on') settings.push(['torch_eager', `${label}, eager`, torchSetting(tuned.python, true, 'off')]);
        if (compile !== 'off') settings.push(['torch_compile', `${label}, torch.compile`, torchSetting(tuned.python, true, 'on')]);
      }
      if (useDebian) settings.push(['torch_debian', `PyTorch ${debian.version} Debian, untuned`, torchSetting(debian.python, false, 'off')]);
      for (const [key, label, setting] of settings) {
        const c: Contender = { key, label, samples: [], load: [], ratios: [], errors: [] };
        const t0 = performance.now();
        try {
          c.worker = await TorchWorker.start(setting);
          const info = c.worker.info;
          if (key === 'torch_compile' && !info.compiled) c.label = `${c.label} (failed: eager)`;
          c.note = [`Adam ${info.adam}`, info.compile_seconds !== undefined ? `compiled in ${info.compile_seconds} s` : '',
            info.compile_note ?? ''].filter((s) => s !== '').join('; ');
        } catch (e) {
          c.note = `did not start: ${e instanceof Error ? e.message : String(e)}`;
        }
        log(`setup ${spec.name} ${threads}t ${c.label}: ${c.note} (${((performance.now() - t0) / 1000).toFixed(0)} s)`);
        if (c.worker !== undefined) contenders.push(c);
      }
      if (backends.includes('wasm')) {
        contenders.push({ key: 'fedward', label: 'Fedward wasm', samples: [], load: [], ratios: [], errors: [] });
      }
      cells.push({ model: spec.name, threads, contenders, bestTunedRatios: [] });
    }
  }

  log('building the bench page …');
  await buildPage(path.join(here, 'page', 'main.ts'), outDir);
  const server = await serveIsolated(outDir);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'],
  });
  const chromiumVersion = browser.version();
  const ceilings = new Map<number, { gflops: number[]; load: number[]; errors: string[]; last?: CeilingResult }>();
  const others: Array<{ model: string; label: string; threads: number | null; result?: BenchResult; error?: string; load: number }> = [];
  let wasmInfo = '';

  const browserRun = async (r: Run): Promise<BenchResult> => {
    const result = await inPage(browser, server.url, (r.request.maxSeconds + 120) * 1000,
      (page) => page.evaluate((request) => window.runBench(request), r.request));
    log(`  ${r.request.model.padEnd(9)} ${r.label.padEnd(40)} ${result.samplesPerS.toFixed(1).padStart(8)} samples/s  [load ${load().toFixed(2)}]`
      + ` (${result.threads ?? '-'} threads, ${result.steps} steps in ${result.seconds.toFixed(1)} s, loss ${result.firstLoss.toFixed(3)} → ${result.lastLoss.toFixed(3)}`
      + `, ${result.optimizer}${result.nativeKernels !== null ? `, kernels: ${result.nativeKernels}` : ''})`);
    for (const k of result.kernels?.slice(0, 12) ?? []) log(`      ${k.name.padEnd(26)} ${k.ms.toFixed(2).padStart(7)} ms  ×${k.calls}`);
    return result;
  };

  try {
    for (let round = 1; round <= rounds && cells.length > 0; round++) {
      log(`round ${round} of ${rounds}`);
      if (backends.includes('wasm')) {
        for (const threads of threadCounts) {
          const c = ceilings.get(threads) ?? { gflops: [], load: [], errors: [] };
          ceilings.set(threads, c);
          try {
            const r = await inPage(browser, server.url, 120_000, (page) => page.evaluate((req) => window.simdCeiling(req), { threads, ms: 500 }));
            c.gflops.push(r.gflops);
            c.load.push(load());
            c.last = r;
            log(`  wasm SIMD ceiling ${threads} thread${threads > 1 ? 's' : ' '}${' '.repeat(22)} ${r.gflops.toFixed(1).padStart(8)} GFLOP/s    [load ${load().toFixed(2)}] (${r.instruction}, ${r.accumulators} chains)`);
          } catch (e) {
            c.errors.push(e instanceof Error ? e.message.split('\n')[0]! : String(e));
          }
        }
      }
      for (const cell of cells) {
        const perRound = new Map<Contender['key'], number>();
        for (const c of cell.contenders) {
          try {
            let samplesPerS: number;
            if (c.key === 'fedward') {
              const r = await browserRun(run(`Fedward wasm ${cell.threads} thread${cell.threads > 1 ? 's' : ''}`, {
                backend: 'wasm', model: cell.model, threads: cell.threads, maxSeconds: cell.model === 'cnn' ? 16 : 24,
              }));
              samplesPerS = r.samplesPerS;
              wasmInfo = `${r.nativeKernels} kernels, ${r.optimizer}`;
              c.label = `Fedward wasm (${wasmInfo})`;
            } else {
              const r = await c.worker!.run(400, cell.model === 'cnn' ? 3 : 5);
              samplesPerS = r.samples_per_s;
              log(`  ${cell.model.padEnd(9)} ${`${c.label} ${cell.threads}t`.padEnd(40)} ${samplesPerS.toFixed(1).padStart(8)} samples/s  [load ${load().toFixed(2)}] (${r.steps} steps in ${r.seconds.toFixed(1)} s)`);
            }
            c.samples.push(samplesPerS);
            c.load.push(load());
            perRound.set(c.key, samplesPerS);
          } catch (e) {
            const message = e instanceof Error ? e.message.split('\n')[0]! : String(e);
            c.errors.push(message);
            log(`  ${cell.model.padEnd(9)} ${c.label} ${cell.threads}t skipped: ${message}`);
          }
          // Let the previous contender's threads go idle before the next one starts.
          await sleep(300);
        }
        const fedward = perRound.get('fedward');
        if (fedward !== undefined) {
          for (const c of cell.contenders) {
            const other = perRound.get(c.key);
            if (c.key !== 'fedward' && other !== undefined) c.ratios.push(fedward / other);
          }
          const best = Math.max(perRound.get('torch_eager') ?? 0, perRound.get('torch_compile') ?? 0);
          if (best > 0) cell.bestTunedRatios.push(fedward / best);
        }
      }
    }
    for (const r of otherRuns()) {
      const entry: (typeof others)[number] = { model: r.request.model, label: r.label, threads: r.request.threads ?? null, load: load() };
      try {
        entry.result = await browserRun(r);
        entry.threads = entry.result.threads;
        entry.load = load();
      } catch (e) {
        entry.error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
        log(`  ${r.request.model.padEnd(9)} ${r.label.padEnd(40)} skipped: ${entry.error}`);
      }
      others.push(entry);
    }
  } finally {
    for (const cell of cells) for (const c of cell.contenders) c.worker?.close();
    await browser.close();
    await server.close();
  }

  // Summary.
  const ceilingMedian = (threads: number) => median(ceilings.get(threads)?.gflops ?? []);
  const out = {
    machine: {
      cpus: os.cpus().length, cpu: os.cpus()[0]?.model ?? null, chromium: chromiumVersion,
      loadavg_start: startLoad, loadavg_end: os.loadavg(),
    },
    ceiling: Object.fromEntries([...ceilings].map(([threads, c]) => [threads, {
      gflops: ceilingMedian(threads) ?? null, rounds: c.gflops, load: c.load, instruction: c.last?.instruction ?? null,
      accumulators: c.last?.accumulators ?? null, errors: c.errors,
    }])),
    torch: { tuned, debian, notes: torchNotes },
    models: {} as Record<string, object>,
    other: others.map((o) => ({
      model: o.model, label: o.label, threads: o.threads, load: o.load,
      ...(o.result !== undefined ? { samples_per_s: o.result.samplesPerS, steps: o.result.steps, optimizer: o.result.optimizer } : { samples_per_s: null, error: o.error }),
    })),
  };
  log('');
  const ceilingLine = [...ceilings].map(([threads, c]) => `${threads} thread${threads > 1 ? 's' : ''} ${fmt(ceilingMedian(threads))} GFLOP/s (${list(c.gflops, 1)})`);
  log(`wasm SIMD ceiling in Chromium ${chromiumVersion} (${ceilings.values().next().value?.last?.instruction ?? '-'}, median; rounds): ${ceilingLine.join('; ') || '-'}`);
  for (const spec of specs) {
    const f = flops.get(spec.name)!;
    log('');
    log(`${spec.name}: ${f.description}; batch ${batch}; ${(f.flops / 1e6).toFixed(2)} MFLOP per sample and step `
      + `(6 × ${(f.macs / 1e6).toFixed(2)} M multiply-adds, as a direct convolution counts them: Fedward's Winograd `
      + `kernels do fewer, so its GFLOP/s and ceiling fraction are effective rates); ${rounds} interleaved round${rounds > 1 ? 's' : ''}, medians`);
    log(`threads  ${'contender'.padEnd(60)} ${'samples/s (rounds)'.padEnd(28)} GFLOP/s  wasm ceiling  Fedward ÷ it (rounds)     load`);
    const byThreads: Record<string, object> = {};
    for (const cell of cells.filter((c) => c.model === spec.name)) {
      const contenders: Record<string, object> = {};
      for (const c of cell.contenders) {
        const sps = median(c.samples);
        const gflops = sps === undefined ? undefined : (sps * f.flops) / 1e9;
        const ceiling = ceilingMedian(cell.threads);
        const fraction = gflops !== undefined && ceiling !== undefined ? gflops / ceiling : undefined;
        const loadRange = c.load.length > 0 ? `${Math.min(...c.load).toFixed(1)}–${Math.max(...c.load).toFixed(1)}` : '-';
        log(`${String(cell.threads).padStart(7)}  ${c.label.padEnd(60)} ${`${fmt(sps)} (${list(c.samples)})`.padEnd(28)} `
          + `${fmt(gflops).padStart(7)}  ${(fraction === undefined ? '-' : `${(fraction * 100).toFixed(0)} %`).padStart(12)}  `
          + `${c.key === 'fedward' ? '—'.padEnd(25) : `${fmt(median(c.ratios), 2)}× (${list(c.ratios, 2)})`.padEnd(25)} ${loadRange}`
          + `${c.errors.length > 0 ? `  errors: ${c.errors.join('; ')}` : ''}`);
        contenders[c.key] = {
          label: c.label, samples_per_s: sps ?? null, rounds: c.samples, gflops: gflops ?? null, ceiling_fraction: fraction ?? null,
          ratio: c.key === 'fedward' ? null : median(c.ratios) ?? null, ratio_rounds: c.ratios, load: c.load, note: c.note ?? null, errors: c.errors,
        };
      }
      const eager = median(cell.contenders.find((c) => c.key === 'torch_eager')?.samples ?? []);
      const compiled = median(cell.contenders.find((c) => c.key === 'torch_compile')?.samples ?? []);
      const faster = eager === undefined && compiled === undefined ? null : (compiled ?? 0) > (eager ?? 0) ? 'torch.compile' : 'eager';
      const bestRatio = median(cell.bestTunedRatios);
      if (bestRatio !== undefined) {
        log(`${' '.repeat(9)}Fedward ÷ tuned PyTorch at its best (the faster of eager and torch.compile in each round; by median ${faster}): `
          + `${bestRatio.toFixed(2)}× (${list(cell.bestTunedRatios, 2)})`);
      }
      byThreads[cell.threads] = { contenders, ratio_to_tuned_best: bestRatio ?? null, ratio_to_tuned_best_rounds: cell.bestTunedRatios, tuned_faster: faster };
    }
    out.models[spec.name] = { description: f.description, batch, macs_per_sample: f.macs, flops_per_sample: f.flops, by_threads: byThreads };
  }
  if (others.length > 0) {
    log('');
    log('other runs (once)');
    for (const o of others) {
      const value = o.result !== undefined ? `${o.result.samplesPerS.toFixed(1)} samples/s` : `skipped: ${o.error}`;
      log(`  ${o.model.padEnd(9)} ${o.label.padEnd(16)} ${String(o.threads ?? '-').padStart(3)} threads  ${value}  [load ${o.load.toFixed(2)}]`);
    }
  }
  for (const note of torchNotes) log(`torch: ${note}`);
  log(`load average at the end: ${os.loadavg().map((l) => l.toFixed(2)).join(' ')}`);
  if (json) process.stdout.write(`${JSON.stringify(out)}\n`);
}

await main();
