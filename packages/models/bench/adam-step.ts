/**
 * Time of one AdamOptimizer (AMSGrad) step on the wasm backend, with @fedward/wasm-training's
 * fused kernel and op by op, for the parameter shapes of issue #6's CNN (406,402 weights, most
 * in one dense layer) and of the project's U-Net:
 *   npx tsx packages/models/bench/adam-step.ts [steps]
 * Node runs wasm single-threaded. The two ways alternate, and each figure is the best of 5 runs.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';
import { FUSED_ADAM_KERNEL, createModel, seededRandom } from '../src';
import { AdamOptimizer } from '../src/adam';

const steps = Number(process.argv[2] ?? 30);
const require = createRequire(import.meta.url);
setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
registerWasmTrainingKernels();
if (!(await tf.setBackend('wasm'))) throw new Error('wasm did not start');

const unet = createModel({ kind: 'unet', inputSize: 64, channels: 1, numClasses: 2, seed: 1 });
const shapeSets: Array<[string, number[][]]> = [
  ['issue CNN', [[3, 3, 1, 16], [16], [3, 3, 16, 32], [32], [6272, 64], [64], [64, 2], [2]]],
  ['U-Net', unet.getWeights().map((w) => w.shape)],
];
unet.dispose();

function timeSteps(shapes: number[][]): number {
  const rand = seededRandom(1);
  const params = shapes.map((shape, i) => ({
    name: `w${i}`,
    variable: tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => rand() - 0.5), shape)),
  }));
  const grads = new Map(params.map(({ name, variable }) => [name, tf.randomNormal(variable.shape)] as [string, tf.Tensor]));
  const opt = new AdamOptimizer(params);
  for (let i = 0; i < 3; i++) tf.tidy(() => opt.apply(grads, 1e-3, true));
  params[0]!.variable.dataSync();
  const start = performance.now();
  for (let i = 0; i < steps; i++) tf.tidy(() => opt.apply(grads, 1e-3, true));
  params[0]!.variable.dataSync();
  const ms = (performance.now() - start) / steps;
  opt.dispose();
  tf.dispose([...grads.values(), ...params.map((p) => p.variable)]);
  return ms;
}

for (const [label, shapes] of shapeSets) {
  const weights = shapes.reduce((n, s) => n + s.reduce((a, b) => a * b, 1), 0);
  const best = { fused: Infinity, opByOp: Infinity };
  for (let run = 0; run < 5; run++) {
    best.fused = Math.min(best.fused, timeSteps(shapes));
    tf.unregisterKernel(FUSED_ADAM_KERNEL, 'wasm');
    best.opByOp = Math.min(best.opByOp, timeSteps(shapes));
    registerWasmTrainingKernels();
  }
  console.log(`${label} (${weights} weights): AMSGrad step ${best.fused.toFixed(2)} ms fused, ${best.opByOp.toFixed(2)} ms op by op (${(best.opByOp / best.fused).toFixed(1)}×)`);
}
