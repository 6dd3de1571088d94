import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { describeModes, expectClose, expectSameBits, initWasm, kernelModes, onBackend, randomData } from './backends';

beforeAll(initWasm);

type Pad = 'same' | 'valid' | number;
const cases: Array<{ name: string; x: [number, number, number, number]; size: [number, number]; strides: [number, number]; pad: Pad; shift?: number }> = [
  { name: '2×2/2 valid', x: [2, 8, 8, 3], size: [2, 2], strides: [2, 2], pad: 'valid' },
  { name: '2×2/2 valid, odd size', x: [2, 9, 7, 2], size: [2, 2], strides: [2, 2], pad: 'valid' },
  { name: '3×3/2 same (overlapping windows)', x: [2, 9, 9, 4], size: [3, 3], strides: [2, 2], pad: 'same' },
  { name: '3×3/1 same', x: [1, 6, 6, 2], size: [3, 3], strides: [1, 1], pad: 'same' },
  { name: '2×3/1×2 valid', x: [2, 7, 9, 3], size: [2, 3], strides: [1, 2], pad: 'valid' },
  { name: '2×2/2 same, odd size (windows over the edge)', x: [2, 9, 7, 5], size: [2, 2], strides: [2, 2], pad: 'same' },
  { name: '2×2/3 valid (gaps between windows)', x: [1, 10, 11, 4], size: [2, 2], strides: [3, 3], pad: 'valid' },
  { name: '2×2/2 valid, 16 channels (the reference CNN)', x: [2, 12, 12, 16], size: [2, 2], strides: [2, 2], pad: 'valid' },
  // Tiling windows over whole vectors of channels store every position they cover, and clear
  // only the row and column past the last window (here with garbage in a reused heap).
  { name: '2×2/2 valid, odd size, 4 channels (last row and column uncovered)', x: [3, 9, 7, 4], size: [2, 2], strides: [2, 2], pad: 'valid' },
  { name: '2×2/2 same, odd size, 8 channels', x: [2, 9, 7, 8], size: [2, 2], strides: [2, 2], pad: 'same' },
  // The wasm backend's own kernel seeds its maximum with FLT_MIN and drops these.
  { name: 'all-negative inputs', x: [2, 6, 6, 3], size: [2, 2], strides: [2, 2], pad: 'valid', shift: -3 },
];

describeModes('MaxPoolGrad on wasm matches cpu', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const x = randomData(c.x.reduce((a, b) => a * b), 13).map((v) => v + (c.shift ?? 0));
      const run = () => tf.grad((input: tf.Tensor) => tf.maxPool(input as tf.Tensor4D, c.size, c.strides, c.pad).square().sum())(
        tf.tensor4d(x, c.x));
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!);
    });
  }

  it('sends a tied window gradient to its first maximum only', async () => {
    // Plateaus of equal values, as after a ReLU: cpu picks the first position.
    const x = new Float32Array(2 * 6 * 6 * 2).map((_, i) => Math.floor(i / 7) % 3);
    const run = () => tf.grad((input: tf.Tensor) => tf.maxPool(input as tf.Tensor4D, 2, 2, 'valid').sum())(tf.tensor4d(x, [2, 6, 6, 2]));
    const [expected] = await onBackend('cpu', run);
    const [actual] = await onBackend('wasm', run);
    expectClose(actual!, expected!);
  });
});

describeModes('MaxPool on wasm matches cpu', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const x = randomData(c.x.reduce((a, b) => a * b), 16).map((v) => v + (c.shift ?? 0));
      const run = () => tf.maxPool(tf.tensor4d(x, c.x), c.size, c.strides, c.pad);
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      // A maximum is one of the inputs: equal, not close.
      expectSameBits(actual!, expected!);
    });
  }
});

// XNNPACK's own kernel, which the JS-fallback mode runs, gives other values here.
describeModes('MaxPool on wasm handles NaN as cpu (the package kernel)', () => {
  it('ignores NaN and gives -inf for a window with nothing larger', async () => {
    for (const channels of [5, 8]) {
      const x = randomData(2 * 6 * 6 * channels, 17).map((v, i) => (i % 7 === 0 ? NaN : i % 11 === 0 ? -Infinity : v));
      // The first window (pixels 0, 1, 6, 7 of the first image) all NaN.
      for (let i = 0; i < channels; i++) [0, 1, 6, 7].forEach((p) => (x[p * channels + i] = NaN));
      const run = () => tf.maxPool(tf.tensor4d(x, [2, 6, 6, channels]), 2, 2, 'valid');
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectSameBits(actual!, expected!);
      expect(expected![0]).toBe(-Infinity);
    }
  });
}, kernelModes.filter(([, mode]) => mode !== 'off'));

describeModes('AvgPoolGrad on wasm matches cpu', () => {
  const avgCases = [
    ...cases.filter((c) => c.shift === undefined),
    // DenseNet's transition (2×2/2 over 24 channels), above 2¹⁶ values: split across threads.
    { name: '2×2/2 valid, DenseNet transition (split)', x: [4, 20, 20, 24] as [number, number, number, number], size: [2, 2] as [number, number], strides: [2, 2] as [number, number], pad: 'valid' as Pad },
  ];
  for (const c of avgCases) {
    it(c.name, async () => {
      const x = randomData(c.x.reduce((a, b) => a * b), 14);
      // Weights on the output, so that every window's gradient differs.
      const run = () => tf.grad((input: tf.Tensor) => {
        const y = tf.avgPool(input as tf.Tensor4D, c.size, c.strides, c.pad);
        return y.mul(tf.tensor(randomData(y.size, 15), y.shape)).sum();
      })(tf.tensor4d(x, c.x));
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!);
    });
  }
});

describeModes('leading-axes Sum and Mean on wasm match cpu', () => {
  // Column counts below, at and across the 16-column blocks summed in registers (32 and 21: two
  // blocks, one block and 5 more), rows above the 2¹⁶ values from which calls are split.
  for (const [shape, axis] of [[[4, 5, 6, 7], [0, 1, 2]], [[3, 8, 5], [0]], [[6, 4], [0, 1]], [[2, 3, 4], [1, 2]], [[700, 9, 16], [0, 1]],
    [[2, 40, 40, 32], [0, 1, 2]], [[300, 11, 21], [0, 1]]] as const) {
    it(`${JSON.stringify(shape)} over ${JSON.stringify(axis)}`, async () => {
      const data = randomData(shape.reduce((a, b) => a * b, 1), 14);
      const run = () => {
        const t = tf.tensor(data, [...shape]);
        return [tf.sum(t, [...axis]), tf.mean(t, [...axis], true), tf.moments(t, [...axis]).variance];
      };
      const expected = await onBackend('cpu', run);
      const actual = await onBackend('wasm', run);
      expected.forEach((e, i) => expectClose(actual[i]!, e));
      // Over leading axes (the package's kernel) the sum is float64 additions in row order on
      // both, so the same bits; other reductions are tfjs-backend-wasm's own.
      if (axis.every((a, i) => a === i) && axis.length < shape.length) expectSameBits(actual[0]!, expected[0]!);
    });
  }
});
