import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { adamAttrs as attrs, fusedAdam as fused, opByOpAdam as opByOp } from './adam_reference';
import { describeModes, initWasm, onBackend, randomData } from './backends';

beforeAll(initWasm);

const sameBits = (actual: Float32Array, expected: Float32Array) => {
  expect(actual.length).toBe(expected.length);
  const a = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const e = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  const first = a.findIndex((bits, i) => bits !== e[i]);
  expect(first, first < 0 ? '' : `element ${first}: ${actual[first]} vs ${expected[first]}`).toBe(-1);
};

describeModes('fused Adam step on wasm equals the op-by-op step to the bit', () => {
  // Odd sizes (SIMD tails, unequal chunks), a dense layer's 2¹⁶+ values (split across threads).
  for (const n of [1, 7, 4099, 6272 * 11]) {
    for (const amsgrad of [true, false]) {
      it(`${n} values, ${amsgrad ? 'AMSGrad' : 'Adam'}, steps 1 and 40`, async () => {
        const p = randomData(n, 1);
        const g = randomData(n, 2).map((x) => x * 0.1);
        const m = randomData(n, 3).map((x) => x * 0.01);
        const v = randomData(n, 4).map((x) => x * x * 1e-4);
        // vmax above v for some values, below for others: both branches of the max.
        const vmax = randomData(n, 5).map((x, i) => (x > 0 ? v[i]! * 2 : v[i]! / 2));
        for (const t of [1, 40]) {
          const inputs = () => [p, g, m, v].map((d) => tf.tensor1d(d)) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
          const expected = await onBackend('wasm', () => opByOp(...inputs(), amsgrad ? tf.tensor1d(vmax) : null, attrs(t)));
          const actual = await onBackend('wasm', () => fused(...inputs(), amsgrad ? tf.tensor1d(vmax) : null, attrs(t)));
          expect(actual.length).toBe(amsgrad ? 4 : 3);
          actual.forEach((a, i) => sameBits(a, expected[i]!));
        }
      });
    }
  }
});

it('refuses inputs of another size or dtype, naming the kernel', async () => {
  await tf.setBackend('wasm');
  expect(() => tf.tidy(() => fused(tf.ones([4]), tf.ones([5]), tf.zeros([4]), tf.zeros([4]), null, attrs(1))))
    .toThrow(/FedwardAdamUpdate: every input must be float32 with 4 values/);
  expect(() => tf.tidy(() => fused(tf.ones([4]), tf.ones([4], 'int32'), tf.zeros([4]), tf.zeros([4]), null, attrs(1))))
    .toThrow(/float32/);
});
