import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { benchInputs, benchModels, referenceCnn, trainStep } from '../bench/models';
import type { BenchModel } from '../bench/models';
import { wasmTrainingKernelNames, wasmTrainingNativeKernels } from '../src';
import { expectClose, initWasm, kernelModes, selectMode } from './backends';

beforeAll(initWasm);

async function gradients(backend: 'cpu' | 'wasm', model: tf.LayersModel, x: Float32Array, spec: BenchModel, batch: number) {
  await tf.setBackend(backend);
  return tf.tidy(() => {
    const input = tf.tensor4d(x, [batch, ...spec.inputShape]);
    const target = spec.targets(batch);
    const { value, grads } = tf.variableGrads(
      () => spec.loss(target, model.apply(input, { training: true }) as tf.Tensor),
      model.trainableWeights.map((w) => w.read() as tf.Variable));
    return {
      loss: value.dataSync()[0]!,
      grads: model.trainableWeights.map((w) => Float32Array.from(grads[(w.read() as tf.Variable).name]!.dataSync())),
    };
  });
}

describe('whole-model gradients on wasm match cpu', () => {
  // Small inputs: the cpu reference backend needs seconds per sample at 64×64.
  for (const spec of benchModels(16)) {
    it(`${spec.name}, with every kernel implementation`, async () => {
      const batch = 3;
      await tf.setBackend('cpu');
      const model = spec.build();
      const x = Float32Array.from(tf.tidy(() => benchInputs(spec, batch)).dataSync());
      const expected = await gradients('cpu', model, x, spec, batch);
      try {
        for (const entry of kernelModes) {
          const mode = entry[0];
          selectMode(entry);
          const actual = await gradients('wasm', model, x, spec, batch);
          expect(actual.loss, mode).toBeCloseTo(expected.loss, 4);
          expect(actual.grads.length).toBe(model.trainableWeights.length);
          // Looser than the per-kernel tests: float32 rounding differs through a
          // whole forward and backward pass, amplified by the normalisations.
          actual.grads.forEach((g, i) => expectClose(g, expected.grads[i]!, 1e-2));
        }
      } finally {
        selectMode(['', 'auto']);
        model.dispose();
      }
    });
  }
});

describe('training on wasm', () => {
  it('registers the kernels for the wasm backend', () => {
    for (const name of wasmTrainingKernelNames) expect(tf.getKernel(name, 'wasm')).toBeDefined();
  });

  it('runs the package\'s wasm kernels here, relaxed SIMD included where Node is given the flag', async () => {
    await tf.setBackend('wasm');
    // vitest.config.ts passes --experimental-wasm-relaxed-simd where Node accepts it.
    const flagged = process.execArgv.includes('--experimental-wasm-relaxed-simd');
    expect(['relaxed-simd', 'simd']).toContain(wasmTrainingNativeKernels());
    if (flagged) expect(wasmTrainingNativeKernels()).toBe('relaxed-simd');
  });

  it('reduces the loss of the reference CNN with Adam', async () => {
    await tf.setBackend('wasm');
    const spec = referenceCnn(32);
    const model = spec.build();
    const optimizer = tf.train.adam(1e-3);
    const x = benchInputs(spec, 16);
    const y = spec.targets(16);
    const losses: number[] = [];
    for (let step = 0; step < 15; step++) {
      const cost = trainStep(model, spec, optimizer, x, y);
      losses.push((await cost.data())[0]!);
      cost.dispose();
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.7);

    // The composed kernels free their intermediates: steady state, no growth.
    const before = tf.memory();
    for (let step = 0; step < 3; step++) trainStep(model, spec, optimizer, x, y).dispose();
    const after = tf.memory();
    expect(after.numTensors).toBe(before.numTensors);
    expect(after.numDataBuffers).toBe(before.numDataBuffers);
    tf.dispose([x, y]);
    optimizer.dispose();
    model.dispose();
  });
});
