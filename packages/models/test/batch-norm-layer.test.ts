import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { batchNormalizationLayer } from '../src/batch-norm-layer';
import { useWasmTrainingBackend } from './wasm-backend';

useWasmTrainingBackend();

type Make = (args: NonNullable<Parameters<typeof tf.layers.batchNormalization>[0]>) => tf.layers.Layer;

/** conv → BatchNormalization (γ, β random) on `shape`: one training step's output, gradients, moving statistics and kernels, then an evaluation. */
async function run(make: Make, shape: number[]) {
  const input = tf.input({ shape: shape.slice(1) });
  const c = shape.at(-1)!;
  const dense = shape.length === 2;
  const pre = dense
    ? tf.layers.dense({ units: c, useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) })
    : tf.layers.conv2d({ filters: c, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 1 }) });
  const bn = make({ axis: -1, momentum: 0.9, epsilon: 1e-5, gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 2 }), betaInitializer: tf.initializers.randomNormal({ seed: 3 }) });
  const model = tf.model({ inputs: input, outputs: bn.apply(pre.apply(input)) as tf.SymbolicTensor });
  const x = tf.add(tf.randomNormal(shape, 0, 1, 'float32', 4), 2);
  const target = tf.randomNormal([shape[0]!, ...(model.outputs[0]!.shape.slice(1) as number[])], 0, 1, 'float32', 5);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let grads: Float32Array[] = [];
  let y: Float32Array = new Float32Array(0);
  const profile = await tf.profile(() => {
    const { grads: g } = tf.variableGrads(() => {
      const out = model.apply(x, { training: true }) as tf.Tensor;
      y = out.dataSync() as Float32Array;
      return tf.losses.meanSquaredError(target, out) as tf.Scalar;
    }, vars);
    grads = vars.map((v) => g[v.name]!.dataSync() as Float32Array);
    tf.dispose(g);
  });
  const moving = bn.weights.filter((w) => w.originalName.includes('moving')).map((w) => w.read().dataSync() as Float32Array);
  const evaluated = tf.tidy(() => (model.apply(x, { training: false }) as tf.Tensor).dataSync() as Float32Array);
  const names = bn.weights.map((w) => w.originalName.split('/').at(-1));
  tf.dispose([x, target]);
  model.dispose();
  return { y, grads, moving, evaluated, names, className: bn.getClassName(), kernels: new Set(profile.kernels.map((k) => k.name)) };
}

function close(actual: Float32Array, expected: Float32Array, tol: number): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((v, i) => expect(Math.abs(v - expected[i]!)).toBeLessThanOrEqual(tol * Math.max(1, Math.abs(expected[i]!))));
}

describe('batchNormalizationLayer', () => {
  for (const shape of [[4, 6, 5, 8], [3, 9, 7, 13], [6, 16]]) {
    it(`on wasm runs the fused kernel and matches tf.layers' BatchNormalization: ${JSON.stringify(shape)}`, async () => {
      const stock = await run((a) => tf.layers.batchNormalization(a), shape);
      const fused = await run(batchNormalizationLayer, shape);
      expect(fused.kernels.has('FedwardNormalize')).toBe(true);
      expect(stock.kernels.has('FedwardNormalize')).toBe(false);
      close(fused.y, stock.y, 1e-5);
      fused.grads.forEach((g, i) => close(g, stock.grads[i]!, 1e-4));
      expect(fused.moving.length).toBe(2);
      fused.moving.forEach((m, i) => close(m, stock.moving[i]!, 1e-5));
      close(fused.evaluated, stock.evaluated, 1e-5);
      expect(fused.className).toBe('BatchNormalization');
      expect(fused.names).toEqual(stock.names);
    });
  }

  it('runs tf.layers\' own code where the backend has no fused kernel (cpu): the same values', async () => {
    await tf.setBackend('cpu');
    try {
      const stock = await run((a) => tf.layers.batchNormalization(a), [3, 4, 4, 6]);
      const fused = await run(batchNormalizationLayer, [3, 4, 4, 6]);
      expect(fused.kernels.has('FedwardNormalize')).toBe(false);
      expect(Array.from(fused.y)).toEqual(Array.from(stock.y));
      fused.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(stock.grads[i]!)));
    } finally {
      await tf.setBackend('wasm');
    }
  });
});
