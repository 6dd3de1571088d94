/**
 * Profiles one training step of a bench model on the wasm backend in Node:
 * time per kernel, summed over the step, slowest first. The slowest kernel is
 * the next one to make faster.
 *   npx tsx packages/wasm-training/bench/profile-step.ts [cnn|unet|densenet|vgg-slim] [batch] [--calls] [--torch] [--js|--simd] [--direct] [--unfused-pool]
 *
 * On a shared machine single timings are noise: the step time is the best of
 * its runs, and each kernel's figure is its best per-step total over the
 * profiled steps. The step is the product's (fused Adam, bench/product-step.ts).
 * `--torch` also trains the CNN in PyTorch with one thread (the interpreter
 * bench:train uses, tuned, eager; Node runs tfjs's wasm single-threaded),
 * interleaved with the wasm runs, and prints the ratio. `--js` runs the package's JS fallbacks instead of its
 * wasm kernels, `--simd` the wasm kernels without relaxed SIMD, `--direct` the direct convolutions where Winograd
 * would run, `--unfused-pool` a convolution and the 2×2 pool after it as two kernels (for A/Bs). Node 20 needs
 * `node --experimental-wasm-relaxed-simd` (NODE_OPTIONS) for relaxed SIMD.
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { registerWasmTrainingKernels } from '../src';
import { setConvPoolFusion } from '../src/conv_pool_fusion';
import { setWinogradConvolutions } from '../src/kernels/conv2d_winograd';
import { setNativeKernelsMode, wasmTrainingNativeKernels } from '../src/native';
import { setNodeWasmPaths } from '../src/node';
import { benchInputs, benchModels } from './models';
import { productTrainer } from './product-step';
import { TUNED_ENV, tunedPython } from './torch-peer';

setNodeWasmPaths();
registerWasmTrainingKernels();
if (process.argv.includes('--js')) setNativeKernelsMode('off');
if (process.argv.includes('--simd')) setNativeKernelsMode('simd');
if (process.argv.includes('--direct')) setWinogradConvolutions(false);
if (process.argv.includes('--unfused-pool')) setConvPoolFusion(false);
await tf.setBackend('wasm');

const positional = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const name = positional[0] ?? 'cnn';
const batch = Number(positional[1] ?? 32);
const spec = benchModels().find((m) => m.name === name);
if (spec === undefined) throw new Error(`unknown model ${name}`);
const model = spec.build();
const x = benchInputs(spec, batch);
const y = spec.targets(batch);
const trainer = productTrainer(model, spec, x, y);
const step = () => {
  const cost = trainer.step();
  cost.dataSync();
  cost.dispose();
};
for (let i = 0; i < 3; i++) step();

const torchScript = path.join(path.dirname(fileURLToPath(import.meta.url)), 'torch_train.py');
const torch = process.argv.includes('--torch') && name === 'cnn' && batch === 32;
const torchRuns: number[] = [];
const runTorch = () => {
  const out = spawnSync(tunedPython(undefined), [torchScript, '--threads', '1', '--steps', '30', '--warmup', '3', '--channels-last'],
    { encoding: 'utf8', env: { ...process.env, ...TUNED_ENV } });
  if (out.status !== 0) throw new Error(`torch: ${out.stderr.trim().split('\n').at(-1)}`);
  torchRuns.push((JSON.parse(out.stdout.trim().split('\n').at(-1)!) as { samples_per_s: number }).samples_per_s);
};

const stepTimes: number[] = [];
const perKernel = new Map<string, { best: number; calls: number }>();
const rounds = 3;
for (let round = 0; round < rounds; round++) {
  if (torch) runTorch();
  for (let i = 0; i < 8; i++) {
    const start = performance.now();
    step();
    stepTimes.push(performance.now() - start);
  }
  for (let i = 0; i < 3; i++) {
    const info = await tf.profile(step);
    const sums = new Map<string, { ms: number; calls: number }>();
    for (const k of info.kernels) {
      const e = sums.get(k.name) ?? { ms: 0, calls: 0 };
      e.ms += typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
      e.calls += 1;
      sums.set(k.name, e);
    }
    for (const [k, e] of sums) {
      const prev = perKernel.get(k);
      perKernel.set(k, { best: Math.min(prev?.best ?? Infinity, e.ms), calls: e.calls });
    }
  }
}
const stepMs = Math.min(...stepTimes);
const median = [...stepTimes].sort((a, b) => a - b)[stepTimes.length >> 1]!;
const total = [...perKernel.values()].reduce((s, e) => s + e.best, 0);
console.log(`${spec.description}, batch ${batch}, wasm threads ${getThreadsCount()}, package kernels ${wasmTrainingNativeKernels() ?? 'JS fallbacks'}`);
console.log(`step best ${stepMs.toFixed(1)} ms → ${(batch * 1000 / stepMs).toFixed(0)} samples/s (median ${median.toFixed(1)} ms); kernels sum ${total.toFixed(1)} ms (best per kernel)`);
if (torch) {
  const best = Math.max(...torchRuns);
  console.log(`pytorch (tuned, eager) 1 thread: best ${best.toFixed(0)} samples/s (runs ${torchRuns.map((v) => v.toFixed(0)).join(', ')}); wasm/pytorch ${(batch * 1000 / stepMs / best).toFixed(3)}×`);
}
for (const [k, e] of [...perKernel].sort((a, b) => b[1].best - a[1].best).slice(0, 15)) {
  console.log(`${k.padEnd(34)} ${e.best.toFixed(2).padStart(8)} ms ${(100 * e.best / total).toFixed(1).padStart(5)} %  ×${e.calls}`);
}
if (process.argv.includes('--calls')) {
  const info = await tf.profile(step);
  console.log('\nslowest single calls:');
  for (const k of [...info.kernels].sort((a, b) => Number(b.kernelTimeMs) - Number(a.kernelTimeMs)).slice(0, 25)) {
    console.log(`${k.name.padEnd(28)} ${Number(k.kernelTimeMs).toFixed(2).padStart(7)} ms  in ${JSON.stringify(k.inputShapes)} out ${JSON.stringify(k.outputShapes)}`);
  }
}
