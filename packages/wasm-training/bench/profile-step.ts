/**
 * Profiles one training step of a bench model on the wasm backend in Node:
 * time per kernel, summed over the step, slowest first. The slowest kernel is
 * the next one to make faster.
 *   npx tsx packages/wasm-training/bench/profile-step.ts [cnn|unet|densenet] [batch]
 */
import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { createRequire } from 'node:module';
import path from 'node:path';
import { registerWasmTrainingKernels } from '../src';
import { benchInputs, benchModels, trainStep } from './models';

const require = createRequire(import.meta.url);
setWasmPaths(`${path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'))}${path.sep}`);
registerWasmTrainingKernels();
await tf.setBackend('wasm');

const name = process.argv[2] ?? 'cnn';
const batch = Number(process.argv[3] ?? 32);
const spec = benchModels().find((m) => m.name === name);
if (spec === undefined) throw new Error(`unknown model ${name}`);
const model = spec.build();
const optimizer = tf.train.adam(1e-3);
const x = benchInputs(spec, batch);
const y = spec.targets(batch);
const step = () => {
  const cost = trainStep(model, spec, optimizer, x, y);
  cost.dataSync();
  cost.dispose();
};
for (let i = 0; i < 3; i++) step();

const steps = 10;
const start = performance.now();
for (let i = 0; i < steps; i++) step();
const stepMs = (performance.now() - start) / steps;

const perKernel = new Map<string, { ms: number; calls: number }>();
const profiles = 5;
for (let i = 0; i < profiles; i++) {
  const info = await tf.profile(step);
  for (const k of info.kernels) {
    const ms = typeof k.kernelTimeMs === 'number' ? k.kernelTimeMs : 0;
    const entry = perKernel.get(k.name) ?? { ms: 0, calls: 0 };
    entry.ms += ms / profiles;
    entry.calls += 1 / profiles;
    perKernel.set(k.name, entry);
  }
}
const total = [...perKernel.values()].reduce((s, e) => s + e.ms, 0);
console.log(`${spec.description}, batch ${batch}, wasm threads ${getThreadsCount()}`);
console.log(`step ${stepMs.toFixed(1)} ms → ${(batch * 1000 / stepMs).toFixed(0)} samples/s; kernels sum ${total.toFixed(1)} ms (profiled)`);
for (const [k, e] of [...perKernel].sort((a, b) => b[1].ms - a[1].ms).slice(0, 15)) {
  console.log(`${k.padEnd(34)} ${e.ms.toFixed(2).padStart(8)} ms ${(100 * e.ms / total).toFixed(1).padStart(5)} %  ×${e.calls.toFixed(0)}`);
}
if (process.argv.includes('--calls')) {
  const info = await tf.profile(step);
  console.log('\nslowest single calls:');
  for (const k of [...info.kernels].sort((a, b) => Number(b.kernelTimeMs) - Number(a.kernelTimeMs)).slice(0, 25)) {
    console.log(`${k.name.padEnd(28)} ${Number(k.kernelTimeMs).toFixed(2).padStart(7)} ms  in ${JSON.stringify(k.inputShapes)} out ${JSON.stringify(k.outputShapes)}`);
  }
}
