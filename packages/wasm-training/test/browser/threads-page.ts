import * as tf from '@tensorflow/tfjs';
import { getThreadsCount, setThreadsCount, setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { benchInputs, benchModels, referenceCnn, trainStep } from '../../bench/models';
import type { BenchModel } from '../../bench/models';
import {
  registerWasmTrainingKernels, startWasmTrainingThreads, wasmTrainingNativeKernels, wasmTrainingWorkerChunks,
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
  // tfjs-backend-wasm caps its pool at hardwareConcurrency / 2.
  if (navigator.hardwareConcurrency < 2 * threads) {
    Object.defineProperty(navigator, 'hardwareConcurrency', { value: 2 * threads });
  }
  setThreadsCount(threads);
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
  // A few Adam steps of the reference CNN on the workers: the loss must fall.
  await tf.setBackend('wasm');
  const spec = referenceCnn(32);
  const model = spec.build();
  const optimizer = tf.train.adam(1e-3);
  const [x, y] = [benchInputs(spec, 32), spec.targets(32)];
  const trainLosses: number[] = [];
  for (let i = 0; i < 12; i++) {
    const cost = trainStep(model, spec, optimizer, x, y);
    trainLosses.push((await cost.data())[0]!);
    cost.dispose();
  }
  tf.dispose([x, y]);
  model.dispose();
  return { backendThreads: getThreadsCount(), kernelThreads, nativeKernels: wasmTrainingNativeKernels(), cases, trainLosses };
};
document.title = 'ready';
