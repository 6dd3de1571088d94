import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { benchInputs, benchModels, referenceCnn, trainStep } from '../../bench/models';
import type { BenchModel } from '../../bench/models';
import { adamAttrs, fusedAdam, opByOpAdam } from '../adam_reference';
import {
  registerWasmTrainingKernels, setWasmTrainingThreads, startWasmTrainingThreads, wasmTrainingNativeKernels, wasmTrainingWorkerChunks,
} from '../../src';

/**
 * A page for the browser check of the package's kernel workers
 * (e2e/tests/wasm-kernel-threads.spec.ts): in cross-origin isolated
 * Chromium, the wasm backend gets `threads` threads, the kernels are split
 * across this thread and the workers, and every model's gradients must
 * still match the cpu backend's.
 */
export interface ThreadsCheck {
  backendThreads: number;
  kernelThreads: number;
  nativeKernels: string | null;
  cases: Array<{ model: string; batch: number; lossCpu: number; lossWasm: number; maxError: number; workerChunks: number }>;
  trainLosses: number[];
  /** The fused Adam step on 100,003 values (in chunks): values that differ from op by op (must be 0). */
  adam: { differing: number; workerChunks: number };
}

declare global {
  interface Window {
    checkThreads(threads: number): Promise<ThreadsCheck>;
  }
}

type Grads = { loss: number; grads: Float32Array[] };

async function gradients(backend: 'cpu' | 'wasm', model: tf.LayersModel, x: Float32Array, spec: BenchModel, batch: number): Promise<Grads> {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const input = tf.tensor4d(x, [batch, ...spec.inputShape]);
    const { value, grads } = tf.variableGrads(
      () => spec.loss(spec.targets(batch), model.apply(input, { training: true }) as tf.Tensor),
      model.trainableWeights.map((w) => w.read() as tf.Variable));
    return {
      loss: value.dataSync()[0]!,
      grads: model.trainableWeights.map((w) => Float32Array.from(grads[(w.read() as tf.Variable).name]!.dataSync())),
    };
  });
}

/** max over weights and elements of |actual − expected| / max|expected| (as the unit tests' expectClose). */
function maxError(actual: Grads, expected: Grads): number {
  let worst = 0;
  expected.grads.forEach((e, i) => {
    const a = actual.grads[i]!;
    const scale = Math.max(1e-6, ...Array.from(e, Math.abs));
    for (let j = 0; j < e.length; j++) worst = Math.max(worst, Math.abs(a[j]! - e[j]!) / scale);
    if (a.length !== e.length) worst = Infinity;
  });
  return worst;
}

window.checkThreads = async (threads: number): Promise<ThreadsCheck> => {
  setWasmPaths(new URL('./', location.href).href);
  // As the hospital app: the threads for the package's kernels, one for XNNPACK's pool.
  setThreadsCount(1);
  setWasmTrainingThreads(threads);
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to start');
  const kernelThreads = await startWasmTrainingThreads();
  const cases: ThreadsCheck['cases'] = [];
  // Odd and even batches (chunks of unequal size); small inputs for the cpu reference.
  const runs: Array<[BenchModel, number]> = [
    [referenceCnn(32), 32], [referenceCnn(32), 5], ...benchModels(16).slice(1).map((m): [BenchModel, number] => [m, 7]),
  ];
  for (const [spec, batch] of runs) {
    await tf.setBackend('cpu');
    const model = spec.build();
    const x = Float32Array.from(tf.tidy(() => benchInputs(spec, batch)).dataSync());
    const expected = await gradients('cpu', model, x, spec, batch);
    const before = wasmTrainingWorkerChunks();
    const actual = await gradients('wasm', model, x, spec, batch);
    cases.push({
      model: spec.name, batch, lossCpu: expected.loss, lossWasm: actual.loss,
      maxError: maxError(actual, expected), workerChunks: wasmTrainingWorkerChunks() - before,
    });
    model.dispose();
  }
  // Adam steps of the reference CNN on the workers: the loss must fall. Its weights are seeded and it
  // takes twenty steps: unseeded, twelve steps once left the loss at 0.71 of its start on a fresh clone.
  await tf.setBackend('wasm');
  const spec = referenceCnn(32);
  const model = spec.build();
  const optimizer = tf.train.adam(1e-3);
  const [x, y] = [benchInputs(spec, 32), spec.targets(32)];
  const trainLosses: number[] = [];
  for (let i = 0; i < 20; i++) {
    const cost = trainStep(model, spec, optimizer, x, y);
    trainLosses.push((await cost.data())[0]!);
    cost.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
  const n = 100_003;
  const data = (k: number) => tf.tidy(() => tf.abs(tf.randomNormal([n], 0, 1, 'float32', k)));
  const inputs = [data(1), tf.tidy(() => tf.randomNormal([n], 0, 1, 'float32', 2)), data(3), data(4), data(5)];
  const [p, g, m, v, vmax] = inputs as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
  const before = wasmTrainingWorkerChunks();
  const fused = tf.tidy(() => fusedAdam(p, g, m, v, vmax, adamAttrs(3)).map((t) => t.dataSync() as Float32Array));
  const adamChunks = wasmTrainingWorkerChunks() - before;
  const reference = tf.tidy(() => opByOpAdam(p, g, m, v, vmax, adamAttrs(3)).map((t) => t.dataSync() as Float32Array));
  let differing = 0;
  fused.forEach((values, i) => {
    const a = new Uint32Array(values.buffer, values.byteOffset, values.length);
    const e = new Uint32Array(reference[i]!.buffer, reference[i]!.byteOffset, values.length);
    for (let j = 0; j < a.length; j++) if (a[j] !== e[j]) differing++;
  });
  tf.dispose(inputs);
  return {
    adam: { differing, workerChunks: adamChunks }, backendThreads: getThreadsCount(), kernelThreads, nativeKernels: wasmTrainingNativeKernels(), cases, trainLosses };
};
document.title = 'ready';
