/**
 * npm run bench:train [-- --json] [--backends wasm,webgl,cpu,webgpu] [--models cnn,unet,densenet]
 *
 * Trains the reference CNN (and the U-Net / DenseNet stand-ins) in
 * headless Chromium on every backend that initialises here, then the same CNN
 * in PyTorch if /usr/bin/python3 has torch, and prints samples/s and the ratio
 * to PyTorch with the same number of threads. The page is served
 * cross-origin isolated so that the wasm backend can use threads.
 */
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { spawnSync } from 'node:child_process';
import { mkdir, readdir, copyFile, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { BenchRequest, BenchResult } from './page/protocol';
import { serveIsolated } from './serve';

const here = path.dirname(fileURLToPath(import.meta.url));
const outDir = path.join(here, '..', '.bench-dist');
const require = createRequire(import.meta.url);

const args = process.argv.slice(2);
const json = args.includes('--json');
const listArg = (name: string, all: string[]): string[] => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] !== undefined ? args[i + 1]!.split(',') : all;
};
const backends = listArg('--backends', ['wasm', 'webgl', 'cpu', 'webgpu']);
const models = listArg('--models', ['cnn', 'unet', 'densenet']);
const log = (line: string) => (json ? process.stderr : process.stdout).write(`${line}\n`);

interface Run {
  label: string;
  request: BenchRequest;
}

/** The plan: every backend on the reference CNN, the larger models on the fast backends only. */
function plan(): Run[] {
  const runs: Run[] = [];
  const add = (label: string, r: Partial<BenchRequest> & Pick<BenchRequest, 'backend' | 'model'>) => {
    if (backends.includes(r.backend) && models.includes(r.model)) {
      runs.push({ label, request: { batch: 32, mode: 'loop', warmupSteps: 3, maxSteps: 200, maxSeconds: 25, ...r } });
    }
  };
  add('wasm', { backend: 'wasm', model: 'cnn', threads: 2 });
  add('wasm-1thread', { backend: 'wasm', model: 'cnn', threads: 1 });
  add('wasm model.fit', { backend: 'wasm', model: 'cnn', threads: 2, mode: 'fit' });
  // SwiftShader and the cpu backend need seconds per step: few steps.
  add('webgl', { backend: 'webgl', model: 'cnn', warmupSteps: 1, maxSteps: 10, maxSeconds: 40 });
  add('cpu', { backend: 'cpu', model: 'cnn', warmupSteps: 1, maxSteps: 5, maxSeconds: 30 });
  add('webgpu', { backend: 'webgpu', model: 'cnn', warmupSteps: 1, maxSteps: 5, maxSeconds: 40 });
  for (const model of ['unet', 'densenet']) {
    add('wasm', { backend: 'wasm', model, threads: 2, batch: 16 });
    add('webgl', { backend: 'webgl', model, batch: 16, warmupSteps: 1, maxSteps: 5, maxSeconds: 40 });
  }
  return runs;
}

async function buildPage(): Promise<void> {
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  await build({
    entryPoints: [path.join(here, 'page', 'main.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    outfile: path.join(outDir, 'main.js'),
    logLevel: 'error',
  });
  const wasmDist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
  for (const file of await readdir(wasmDist)) {
    if (file.endsWith('.wasm')) await copyFile(path.join(wasmDist, file), path.join(outDir, file));
  }
  await writeFile(path.join(outDir, 'index.html'),
    '<!doctype html><meta charset="utf-8"><title>loading</title><script type="module" src="main.js"></script>\n');
}

async function runInPage(browser: Browser, url: string, run: Run): Promise<BenchResult> {
  const page = await browser.newPage();
  const budgetMs = (run.request.maxSeconds + 120) * 1000;
  try {
    await page.goto(url);
    await page.waitForFunction(() => document.title === 'ready', null, { timeout: 30_000 });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no result within ${budgetMs / 1000} s`)), budgetMs);
    });
    try {
      return await Promise.race([page.evaluate((r) => window.runBench(r), run.request), timeout]);
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
  const out = spawnSync('/usr/bin/python3', [path.join(here, 'torch_train.py'), String(threads), '60', '5'], {
    encoding: 'utf8', timeout: 120_000,
  });
  if (out.status !== 0) throw new Error(`torch run failed: ${out.stderr.trim().split('\n').at(-1) ?? out.status}`);
  const parsed = JSON.parse(out.stdout.trim().split('\n').at(-1) ?? '{}') as { samples_per_s: number; threads: number };
  return { samplesPerS: parsed.samples_per_s, threads: parsed.threads };
}

interface Row { model: string; label: string; threads: number | null; result?: BenchResult; error?: string }

async function main(): Promise<void> {
  log('building the bench page …');
  await buildPage();
  const server = await serveIsolated(outDir);
  const browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--disable-quic', '--enable-unsafe-webgpu', '--enable-unsafe-swiftshader'],
  });
  const rows: Row[] = [];
  try {
    for (const run of plan()) {
      const row: Row = { model: run.request.model, label: run.label, threads: run.request.threads ?? null };
      try {
        row.result = await runInPage(browser, server.url, run);
        row.threads = row.result.threads;
        log(`${run.request.model.padEnd(9)} ${run.label.padEnd(15)} ${row.result.samplesPerS.toFixed(1).padStart(8)} samples/s`
          + ` (${row.result.steps} steps in ${row.result.seconds.toFixed(1)} s, loss ${row.result.firstLoss.toFixed(3)} → ${row.result.lastLoss.toFixed(3)})`);
      } catch (e) {
        row.error = (e instanceof Error ? e.message : String(e)).split('\n')[0]!;
        log(`${run.request.model.padEnd(9)} ${run.label.padEnd(15)} skipped: ${row.error}`);
      }
      rows.push(row);
    }
  } finally {
    await browser.close();
    await server.close();
  }

  const torch = new Map<number, TorchResult>();
  let torchNote = 'not available (/usr/bin/python3 -c "import torch" fails; apt-get install python3-torch)';
  if (models.includes('cnn') && torchAvailable()) {
    torchNote = '';
    for (const threads of [1, 2]) {
      try {
        torch.set(threads, runTorch(threads));
      } catch (e) {
        torchNote = e instanceof Error ? e.message : String(e);
      }
    }
  }

  const ratio = (row: Row): string => {
    const t = torch.get(row.threads ?? 1);
    return row.result !== undefined && row.model === 'cnn' && t !== undefined
      ? `${(row.result.samplesPerS / t.samplesPerS).toFixed(3)}×` : '';
  };
  log('');
  log('model     backend          threads  samples/s   vs PyTorch (same threads)');
  for (const row of rows) {
    const value = row.result !== undefined ? row.result.samplesPerS.toFixed(1) : `skipped: ${row.error}`;
    log(`${row.model.padEnd(9)} ${row.label.padEnd(16)} ${String(row.threads ?? '-').padStart(7)}  ${value.padStart(9)}   ${ratio(row)}`);
  }
  for (const [threads, t] of torch) {
    log(`${'cnn'.padEnd(9)} ${'pytorch'.padEnd(16)} ${String(threads).padStart(7)}  ${t.samplesPerS.toFixed(1).padStart(9)}`);
  }
  if (torchNote !== '') log(`torch: ${torchNote}`);

  if (json) {
    const backendsOut: Record<string, object> = {};
    const modelsOut: Record<string, Record<string, object>> = {};
    for (const row of rows) {
      const entry = row.result !== undefined
        ? { samples_per_s: row.result.samplesPerS, threads: row.threads, steps: row.result.steps }
        : { samples_per_s: null, error: row.error };
      if (row.model === 'cnn') backendsOut[row.label] = entry;
      else (modelsOut[row.model] ??= {})[row.label] = entry;
    }
    const wasmThreads = rows.find((r) => r.model === 'cnn' && r.label === 'wasm')?.threads ?? 1;
    const sameThreads = torch.get(wasmThreads);
    const torchOut = sameThreads !== undefined
      ? {
        samples_per_s: sameThreads.samplesPerS,
        threads: sameThreads.threads,
        by_threads: Object.fromEntries([...torch].map(([n, t]) => [n, t.samplesPerS])),
      }
      : { samples_per_s: null, note: torchNote };
    process.stdout.write(`${JSON.stringify({ backends: backendsOut, torch: torchOut, models: modelsOut })}\n`);
  }
}

await main();
