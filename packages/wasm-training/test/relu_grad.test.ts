import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { RELU_GRAD_KERNEL } from '../src/kernels/relu_grad';
import { MAX_POOL_GRAD_OF_RELU_KERNEL } from '../src/kernels/max_pool_grad';
import { describeModes, expectClose, expectSameBits, initWasm, onBackend, randomData } from './backends';

beforeAll(initWasm);


// Sizes off the 4-wide vectors, and one above the 2¹⁶ values from which calls are split.
const shapes: Array<[number, ...number[]]> = [[7], [3, 5, 6], [2, 9, 9, 4], [2, 62, 62, 9]];

describeModes('ReLU gradient on wasm matches cpu', () => {
  for (const shape of shapes) {
    it(`[${shape.join(', ')}]`, async () => {
      const n = shape.reduce((a, b) => a * b, 1);
      // Exact zeros (Step gives 0), NaN (Step gives NaN) and ±inf among the inputs.
      const x = randomData(n, 21).map((v, i) => (i % 11 === 0 ? 0 : i % 37 === 0 ? NaN : v));
      const dy = randomData(n, 22).map((v, i) => (i % 13 === 0 ? Infinity : i % 29 === 0 ? -Infinity : v));
      const run = () => tf.grad((input: tf.Tensor) => tf.relu(input).mul(tf.tensor(dy, shape)).sum())(tf.tensor(x, shape));
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectSameBits(actual!, expected!);
    });
  }

  it('runs as one kernel on wasm, and Step · Multiply on cpu', async () => {
    const names = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const x = tf.tensor(randomData(24, 23), [4, 6]);
      const info = await tf.profile(() => tf.grad((input: tf.Tensor) => tf.relu(input).sum())(x));
      x.dispose();
      return info.kernels.map((k) => k.name);
    };
    const wasm = await names('wasm');
    expect(wasm).toContain(RELU_GRAD_KERNEL);
    expect(wasm).not.toContain('Step');
    expect(await names('cpu')).toContain('Step');
  });

  it('has second-order gradients as cpu', async () => {
    const x = randomData(2 * 5 * 7, 24).map((v, i) => (i % 9 === 0 ? 0 : v));
    const w = randomData(2 * 5 * 7, 25);
    // ∂/∂w ‖∂L/∂x‖² with L = Σ relu(x)·w runs through the ReLU gradient's own gradient.
    const run = () => {
      const input = tf.tensor(x, [2, 5, 7]);
      return tf.grad((wi: tf.Tensor) => {
        const dx = tf.grad((xi: tf.Tensor) => tf.relu(xi).mul(wi).sum())(input);
        return dx.mul(tf.range(0, 70).reshape([2, 5, 7])).square().sum();
      })(tf.tensor(w, [2, 5, 7]));
    };
    const [expected] = await onBackend('cpu', run);
    const [actual] = await onBackend('wasm', run);
    expectSameBits(actual!, expected!);
  });
});

type Pool = { name: string; x: [number, number, number, number]; size: number; stride: number; pad: 'same' | 'valid'; shift?: number };
const pools: Pool[] = [
  { name: '2×2/2 valid, 16 channels (the reference CNN)', x: [2, 12, 12, 16], size: 2, stride: 2, pad: 'valid' },
  { name: '2×2/2 valid, odd size, 5 channels', x: [2, 9, 7, 5], size: 2, stride: 2, pad: 'valid' },
  { name: '3×3/2 same (overlapping windows)', x: [2, 9, 9, 4], size: 3, stride: 2, pad: 'same' },
  // Most windows all ≤ 0: their maximum is a ReLU zero, and they pass nothing.
  { name: 'mostly negative pre-activations', x: [2, 8, 8, 6], size: 2, stride: 2, pad: 'valid', shift: -0.8 },
  { name: 'mostly negative, 8 channels (whole 2×2 windows by masks)', x: [2, 8, 8, 8], size: 2, stride: 2, pad: 'valid', shift: -0.8 },
  { name: '3 images (3 chunks when split)', x: [3, 20, 20, 8], size: 2, stride: 2, pad: 'valid' },
];

describeModes('ReLU then max pool: gradient on wasm matches cpu', () => {
  for (const c of pools) {
    it(c.name, async () => {
      const n = c.x.reduce((a, b) => a * b, 1);
      // Exact zeros among the inputs: ties at the ReLU's 0.
      const x = randomData(n, 31).map((v, i) => (i % 7 === 0 ? 0 : v + (c.shift ?? 0)));
      const w = randomData(3 * 3 * c.x[3] * c.x[3], 32);
      const run = () => {
        const input = tf.tensor4d(x, c.x);
        const filter = tf.tensor4d(w, [3, 3, c.x[3], c.x[3]]);
        // The loss through a convolution, so that the pooled ReLU's input is itself a tape node.
        return tf.grads((xi: tf.Tensor, f: tf.Tensor) => tf.maxPool(
          tf.relu(tf.conv2d(xi as tf.Tensor4D, f as tf.Tensor4D, 1, 'same')), c.size, c.stride, c.pad).square().sum())([input, filter]);
      };
      const expected = await onBackend('cpu', run);
      const actual = await onBackend('wasm', run);
      expected.forEach((e, i) => expectClose(actual[i]!, e));
    });
  }

  it('runs one kernel for the max-pool and ReLU gradients, and both where the ReLU output is used twice', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor4d(randomData(2 * 6 * 6 * 4, 33), [2, 6, 6, 4]);
    const pooledOnly = await tf.profile(() => tf.grad((xi: tf.Tensor) => tf.maxPool(tf.relu(xi.mul(2)) as tf.Tensor4D, 2, 2, 'valid').sum())(x));
    const pooledNames = pooledOnly.kernels.map((k) => k.name);
    expect(pooledNames).toContain(MAX_POOL_GRAD_OF_RELU_KERNEL);
    expect(pooledNames).not.toContain(RELU_GRAD_KERNEL);
    expect(pooledNames).not.toContain('MaxPoolGrad');
    // The ReLU output also summed directly: the pooled gradient plus another, masked again (a no-op on the first).
    const run = () => tf.grad((xi: tf.Tensor) => {
      const r = tf.relu(xi.mul(2)) as tf.Tensor4D;
      return tf.maxPool(r, 2, 2, 'valid').square().sum().add(r.mul(r).sum());
    })(tf.tensor4d(randomData(2 * 6 * 6 * 4, 33), [2, 6, 6, 4]));
    const [expected] = await onBackend('cpu', run);
    const [actual] = await onBackend('wasm', run);
    expectClose(actual!, expected!);
    x.dispose();
  });
});
