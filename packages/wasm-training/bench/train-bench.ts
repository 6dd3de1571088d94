/**
 * npm run bench:train [-- --json] [--backends wasm,webgl,cpu,webgpu] [--models cnn,unet,densenet]
 *                     [--rounds 3] [--profile]
 *
 * Trains the issue's reference CNN (and the U-Net / DenseNet stand-ins) in
 * headless Chromium on every backend that initialises here, and the same CNN
 * in PyTorch if /usr/bin/python3 has torch, and prints samples/s and the ratio
 * to PyTorch with the same number of threads. The page is served
 * cross-origin isolated so that the wasm backend can use threads.
 *
 * On a shared machine the load drifts within seconds, so the CNN on wasm and
 * PyTorch run interleaved in rounds (PyTorch 1 thread, wasm 1 thread,
 * PyTorch 2 threads, wasm 2 threads), each round's ratio compares runs a
 * few seconds apart, and the summary gives the median round. `--profile`
 * also prints the wasm runs' time per kernel.
 */
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchRequest, BenchResult } from './page/protocol';
import { buildPage } from './build-page';
import { serveIsolated } from './serve';

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
const rounds = Math.max(1, Number(argValue('--rounds') ?? 3));
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

interface Run {
  label: string;
  request: BenchRequest;
}

const run = (label: string, r: Partial<BenchRequest> & Pick<BenchRequest, 'backend' | 'model'>): Run => ({
  label,
  request: { batch: 32, mode: 'loop', warmupSteps: 3, maxSteps: 200, maxSeconds: 25, profile: profile && r.backend === 'wasm', ...r },
});
const wanted = (r: Run) => backends.includes(r.request.backend) && models.includes(r.request.model);

/** The CNN on wasm, per thread count: interleaved with PyTorch in every round. */
const roundRuns = (): Array<{ threads: number; run: Run }> => [
  { threads: 1, run: run('wasm-1thread', { backend: 'wasm', model: 'cnn', threads: 1, maxSeconds: 16 }) },
  { threads: 2, run: run('wasm', { backend: 'wasm', model: 'cnn', threads: 2, maxSeconds: 16 }) },
].filter((r) => wanted(r.run));

/** Everything else, once: model.fit, the slow backends, the larger models. */
function otherRuns(): Run[] {
  const runs = [
    run('wasm model.fit', { backend: 'wasm', model: 'cnn', threads: 2, mode: 'fit' }),
    // SwiftShader and the cpu backend need seconds per step: few steps.
    run('webgl', { backend: 'webgl', model: 'cnn', warmupSteps: 1, maxSteps: 10, maxSeconds: 40 }),
    run('cpu', { backend: 'cpu', model: 'cnn', warmupSteps: 1, maxSteps: 5, maxSeconds: 30 }),
    run('webgpu', { backend: 'webgpu', model: 'cnn', warmupSteps: 1, maxSteps: 5, maxSeconds: 40 }),
  ];
  for (const model of ['unet', 'densenet']) {
    runs.push(run('wasm', { backend: 'wasm', model, threads: 2, batch: 16 }));
    runs.push(run('webgl', { backend: 'webgl', model, batch: 16, warmupSteps: 1, maxSteps: 5, maxSeconds: 40 }));
  }
  return runs.filter(wanted);
}

async function runInPage(browser: Browser, url: string, r: Run): Promise<BenchResult> {
  const page = await browser.newPage();
  const budgetMs = (r.request.maxSeconds + 120) * 1000;
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${budgetMs / 1000} s`)), budgetMs);
    });
    try {
      return await Promise.race([page.evaluate((request) => window.runBench(request), r.request), timeout]);
    } finally {
      clearTimeout(timer);
    }
  } finally {
    await page.close();
  }
}

interface TorchResult { samplesPerS: number; threads: number }

function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function runTorch(threads: number): TorchResult {
  const out = spawnSync('/usr/bin/python3', [path.join(here, 'torch_train.py'), String(threads), '40', '5'], {
    encoding: 'utf8', timeout: 120_000,
  });
  if (out.status !== 0) throw new Error(`torch run failed: ${out.stderr.trim().split('\n').at(-1) ?? out.status}`);
  const parsed = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as { samples_per_s: number; threads: number };
  return { samplesPerS: parsed.samples_per_s, threads: parsed.threads };
}

interface Row { model: string; label: string; threads: number | null; result?: BenchResult; error?: string }
interface RoundEntry { round: number; threads: number; wasm?: number; torch?: number }

const median = (values: number[]): number | undefined => {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1]! + sorted[mid]!) / 2;
};

async function main(): Promise<void> {
  log('building the bench page …');
  await buildPage(path.join(here, 'page', 'main.ts'), outDir);
  const server = await serveIsolated(outDir);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'],
  });
  const useTorch = models.includes('cnn') && torchAvailable();
  let torchNote = useTorch ? '' : 'not available (/usr/bin/python3 -c "import torch" fails; apt-get install python3-torch)';
  const rows: Row[] = [];
  const entries: RoundEntry[] = [];

  const browserRun = async (r: Run): Promise<Row> => {
    const row: Row = { model: r.request.model, label: r.label, threads: r.request.threads ?? null };
    try {
      row.result = await runInPage(browser, server.url, r);
      row.threads = row.result.threads;
      log(`${r.request.model.padEnd(9)} ${r.label.padEnd(15)} ${row.result.samplesPerS.toFixed(1).padStart(8)} samples/s`
        + ` (${row.result.steps} steps in ${row.result.seconds.toFixed(1)} s, loss ${row.result.firstLoss.toFixed(3)} → ${row.result.lastLoss.toFixed(3)}`
        + `${row.result.nativeKernels !== null ? `, kernels: ${row.result.nativeKernels}` : ''})`);
      for (const k of row.result.kernels?.slice(0, 12) ?? []) {
        log(`    ${k.name.padEnd(26)} ${k.ms.toFixed(2).padStart(7)} ms  ×${k.calls}`);
      }
    } catch (e) {
      row.error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
      log(`${r.request.model.padEnd(9)} ${r.label.padEnd(15)} skipped: ${row.error}`);
    }
    rows.push(row);
    return row;
  };

  try {
    const interleaved = roundRuns();
    for (let round = 1; round <= rounds && interleaved.length > 0; round++) {
      log(`round ${round} of ${rounds}`);
      for (const { threads, run: r } of interleaved) {
        const entry: RoundEntry = { round, threads };
        if (useTorch) {
          try {
            entry.torch = runTorch(threads).samplesPerS;
            log(`cnn       pytorch-${threads}thread${threads > 1 ? 's' : ''}  ${entry.torch.toFixed(1).padStart(8)} samples/s`);
          } catch (e) {
            torchNote = e instanceof Error ? e.message : String(e);
          }
        }
        const row = await browserRun(r);
        entry.wasm = row.result?.samplesPerS;
        entries.push(entry);
      }
    }
    for (const r of otherRuns()) await browserRun(r);
  } finally {
    await browser.close();
    await server.close();
  }

  // Summary: medians over the rounds, and the median of the rounds' ratios.
  const byThreads = new Map<number, { wasm: number[]; torch: number[]; ratios: number[] }>();
  for (const e of entries) {
    const s = byThreads.get(e.threads) ?? { wasm: [], torch: [], ratios: [] };
    if (e.wasm !== undefined) s.wasm.push(e.wasm);
    if (e.torch !== undefined) s.torch.push(e.torch);
    if (e.wasm !== undefined && e.torch !== undefined) s.ratios.push(e.wasm / e.torch);
    byThreads.set(e.threads, s);
  }
  log('');
  log(`CNN, batch 32, ${rounds} interleaved round${rounds > 1 ? 's' : ''}: wasm vs PyTorch with the same threads`);
  log('threads  wasm samples/s (median; rounds)        PyTorch samples/s (median; rounds)     ratio (median; rounds)');
  for (const [threads, s] of byThreads) {
    const fmt = (v: number[], digits: number) => v.map((x) => x.toFixed(digits)).join(', ');
    log(`${String(threads).padStart(7)}  ${(median(s.wasm)?.toFixed(1) ?? '-').padStart(7)} (${fmt(s.wasm, 0)})`.padEnd(49)
      + `${(median(s.torch)?.toFixed(1) ?? '-').padStart(7)} (${fmt(s.torch, 0)})`.padEnd(39)
      + `${median(s.ratios)?.toFixed(3) ?? '-'}× (${fmt(s.ratios, 2)})`);
  }
  log('');
  log('other runs');
  for (const row of rows.filter((r) => !(r.model === 'cnn' && (r.label === 'wasm' || r.label === 'wasm-1thread')))) {
    const value = row.result !== undefined ? row.result.samplesPerS.toFixed(1) : `skipped: ${row.error}`;
    log(`${row.model.padEnd(9)} ${row.label.padEnd(16)} ${String(row.threads ?? '-').padStart(7)}  ${value.padStart(9)}`);
  }
  if (torchNote !== '') log(`torch: ${torchNote}`);

  if (json) {
    const backendsOut: Record<string, object> = {};
    const modelsOut: Record<string, Record<string, object>> = {};
    for (const [threads, s] of byThreads) {
      backendsOut[threads === 1 ? 'wasm-1thread' : 'wasm'] = {
        samples_per_s: median(s.wasm) ?? null, threads, rounds: s.wasm,
      };
    }
    for (const row of rows.filter((r) => !(r.model === 'cnn' && (r.label === 'wasm' || r.label === 'wasm-1thread')))) {
      const entry = row.result !== undefined
        ? { samples_per_s: row.result.samplesPerS, threads: row.threads, steps: row.result.steps }
        : { samples_per_s: null, error: row.error };
      if (row.model === 'cnn') backendsOut[row.label] = entry;
      else (modelsOut[row.model] ??= {})[row.label] = entry;
    }
    const wasmThreads = byThreads.has(2) ? 2 : 1;
    const same = byThreads.get(wasmThreads);
    const torchOut = same !== undefined && same.torch.length > 0
      ? {
        samples_per_s: median(same.torch),
        threads: wasmThreads,
        by_threads: Object.fromEntries([...byThreads].map(([n, s]) => [n, median(s.torch) ?? null])),
        ratio_by_threads: Object.fromEntries([...byThreads].map(([n, s]) => [n, median(s.ratios) ?? null])),
      }
      : { samples_per_s: null, note: torchNote };
    process.stdout.write(`${JSON.stringify({ backends: backendsOut, torch: torchOut, models: modelsOut, rounds: entries })}\n`);
  }
}

await main();
