import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { describeModes, expectClose, initWasm, onBackend, randomData } from './backends';

beforeAll(initWasm);

/** A conv → BatchNormalization (affine, moving statistics, as VGG-slim's) → ReLU step's gradients and kernels. */
async function step(shape: [number, number, number, number]) {
  const input = tf.input({ shape: shape.slice(1) });
  const conv = tf.layers.conv2d({ filters: 5, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: tf.initializers.randomNormal({ seed: 3 }) });
  const bn = tf.layers.batchNormalization({ axis: -1, momentum: 0.9, epsilon: 1e-5, gammaInitializer: tf.initializers.randomUniform({ minval: 0.5, maxval: 1.5, seed: 4 }) });
  const out = tf.layers.reLU().apply(bn.apply(conv.apply(input))) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const x = tf.randomNormal(shape, 0.3, 1, 'float32', 5);
  const target = tf.randomNormal([shape[0], shape[1], shape[2], 5], 0, 1, 'float32', 6);
  const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let grads: Float32Array[] = [];
  const profile = await tf.profile(() => {
    const { grads: g } = tf.variableGrads(() => tf.losses.meanSquaredError(target, model.apply(x, { training: true }) as tf.Tensor) as tf.Scalar, vars);
    grads = vars.map((v) => g[v.name]!.dataSync() as Float32Array);
    tf.dispose(g);
  });
  tf.dispose([x, target]);
  model.dispose();
  return { grads, kernels: profile.kernels.map((k) => k.name) };
}

describe('FusedBatchNorm gradient without Tile', () => {
  it('gives the input gradient tfjs-core computes with Tile, to the bit', async () => {
    await tf.setBackend('wasm');
    const [x, dy] = [tf.randomNormal([2, 4, 3, 6], 0, 1, 'float32', 1), tf.randomNormal([2, 4, 3, 6], 0, 1, 'float32', 2)];
    const mean = tf.mean(x, [0, 1, 2]) as tf.Tensor1D;
    const variance = tf.moments(x, [0, 1, 2]).variance as tf.Tensor1D;
    const scale = tf.randomUniform([6], 0.5, 1.5, 'float32', 3) as tf.Tensor1D;
    const offset = tf.zeros([6]) as tf.Tensor1D;
    const dx = tf.grad((v: tf.Tensor) => tf.sum(tf.mul(tf.batchNorm(v as tf.Tensor4D, mean, variance, offset, scale, 1e-5), dy)))(x);
    // tfjs-core's formula, Tile included.
    const r = tf.rsqrt(tf.add(variance, tf.scalar(1e-5)));
    const expected = tf.mul(tf.mul(dy, tf.tile(tf.reshape(r, [1, 1, 1, 6]), [2, 4, 3, 1])), scale);
    expect(Array.from(dx.dataSync())).toEqual(Array.from(expected.dataSync()));
    tf.dispose([x, dy, mean, variance, scale, offset, dx, r, expected]);
  });

  it('runs no Tile in a training step, and its gradients match cpu', async () => {
    await tf.setBackend('wasm');
    const wasm = await step([3, 6, 5, 2]);
    expect(wasm.kernels).toContain('FusedBatchNorm');
    expect(wasm.kernels).not.toContain('Tile');
    await tf.setBackend('cpu');
    const cpu = await step([3, 6, 5, 2]);
    expect(cpu.kernels).not.toContain('Tile');
    expect(wasm.grads.length).toBe(cpu.grads.length);
    wasm.grads.forEach((g, i) => g.forEach((v, k) => expect(Math.abs(v - cpu.grads[i]![k]!)).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.grads[i]![k]!)))));
  });
});

describeModes('FusedBatchNorm on wasm matches cpu', () => {
  const cases: Array<{ name: string; x: number[]; stats: number[]; affine: boolean }> = [
    { name: 'per channel, scale and offset: [2,5,6,8]', x: [2, 5, 6, 8], stats: [8], affine: true },
    { name: 'per channel, no scale or offset: [3,4,4,8]', x: [3, 4, 4, 8], stats: [8], affine: false },
    { name: 'odd width [4,7,13] (a dense layer\'s BatchNorm1d is 2-D)', x: [4, 7, 13], stats: [13], affine: true },
    { name: 'large, split across threads: [3,50,45,13]', x: [3, 50, 45, 13], stats: [13], affine: true },
    { name: 'statistics of the whole shape (the original kernel)', x: [2, 3, 4, 5], stats: [2, 3, 4, 5], affine: true },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
      const x = randomData(size(c.x), 21).map((v) => 3 + 2 * v);
      const mean = randomData(size(c.stats), 22).map((v) => 3 + v);
      const variance = randomData(size(c.stats), 23).map((v) => 0.5 + Math.abs(v));
      const scale = randomData(size(c.stats), 24);
      const offset = randomData(size(c.stats), 25);
      const run = () => tf.batchNorm(tf.tensor(x, c.x), tf.tensor(mean, c.stats), tf.tensor(variance, c.stats),
        c.affine ? tf.tensor(offset, c.stats) : undefined, c.affine ? tf.tensor(scale, c.stats) : undefined, 1e-3);
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!, 1e-5);
    });
  }
});
