/**
 * Mean training-step time of each model family on a backend:
 *   npx tsx packages/models/bench/train-step.ts [cpu|wasm] [size] [batch] [steps] [--op-by-op-adam]
 * wasm runs with @fedward/wasm-training's kernels, single-threaded (Node); `--op-by-op-adam`
 * takes its fused Adam kernel away, so that the optimizer runs op by op as on other backends.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { FUSED_ADAM_KERNEL, MemoryDataset, createModel, seededRandom } from '../src';

const opByOpAdam = process.argv.includes('--op-by-op-adam');
const [backend = 'cpu', sizeArg = '32', batchArg = '16', stepsArg = '3'] = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const size = Number(sizeArg);
const batch = Number(batchArg);
const steps = Number(stepsArg);

if (backend === 'wasm') {
  const { setWasmPaths } = await import('@tensorflow/tfjs-backend-wasm');
  const { registerWasmTrainingKernels } = await import('@fedward/wasm-training');
  const require = createRequire(import.meta.url);
  setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
  registerWasmTrainingKernels();
  if (opByOpAdam) tf.unregisterKernel(FUSED_ADAM_KERNEL, 'wasm');
}
if (!(await tf.setBackend(backend))) throw new Error(`${backend} did not start`);
await tf.ready();

for (const kind of ['small-cnn', 'densenet', 'unet'] as const) {
  const spec: ModelSpec = { kind, inputSize: size, channels: 1, numClasses: 2, seed: 1 };
  const rand = seededRandom(3);
  const data = new MemoryDataset(
    Array.from({ length: batch * (steps + 1) }, (_, i) => ({
      x: Float32Array.from({ length: size * size }, () => rand()),
      label: i % 2,
      ...(kind === 'unet' && { mask: Float32Array.from({ length: size * size }, () => (rand() < 0.3 ? 1 : 0)) }),
    })),
  );
  const model = createModel(spec);
  const params = model.getWeights().reduce((n, w) => n + w.values.length, 0);
  const epoch = model.trainEpoch(data, { epoch: 1, batchSize: batch, learningRate: 1e-3 });
  await epoch.next(); // warm-up
  const start = performance.now();
  let n = 0;
  while (!(await epoch.next()).done) n += 1;
  const ms = (performance.now() - start) / n;
  console.log(`${backend}${opByOpAdam ? ' (op-by-op Adam)' : ''} ${kind} ${size}px batch ${batch}: ${ms.toFixed(1)} ms/step (${n} steps, ${params} weights, ${tf.memory().numTensors} tensors live)`);
  model.dispose();
}
