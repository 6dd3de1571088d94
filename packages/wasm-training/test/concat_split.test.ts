import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { describeModes, initWasm, onBackend, randomData } from './backends';

beforeAll(initWasm);

/** Copies must be exact: the same floats, element for element. */
function expectSame(actual: Float32Array[], expected: Float32Array[]): void {
  expect(actual.length).toBe(expected.length);
  actual.forEach((a, k) => expect(Array.from(a)).toEqual(Array.from(expected[k]!)));
}

type Case = { name: string; shapes: number[][]; axis: number };
const cases: Case[] = [
  // U-Net's skip connection: channels concatenated, rows of 8 floats.
  { name: 'channels of NHWC, 8 + 8 (U-Net skip)', shapes: [[2, 6, 6, 8], [2, 6, 6, 8]], axis: 3 },
  { name: 'channels, 3 inputs of 5, 3 and 1 (off the vectors)', shapes: [[2, 4, 3, 5], [2, 4, 3, 3], [2, 4, 3, 1]], axis: -1 },
  { name: 'a middle axis', shapes: [[3, 2, 5, 4], [3, 7, 5, 4]], axis: 1 },
  { name: 'the first axis', shapes: [[2, 3, 4], [1, 3, 4]], axis: 0 },
  { name: 'an empty input among them', shapes: [[2, 3, 4], [2, 3, 0], [2, 3, 2]], axis: 2 },
  // Above 2¹⁶ values: split across threads (3 parts in the split mode).
  { name: 'DenseNet-sized: 32×16×16×(48 + 12) (split)', shapes: [[32, 16, 16, 48], [32, 16, 16, 12]], axis: 3 },
];

describeModes('concat and split on wasm match cpu', () => {
  for (const c of cases) {
    it(`concat: ${c.name}`, async () => {
      const data = c.shapes.map((s, i) => randomData(s.reduce((a, b) => a * b, 1), 40 + i));
      const run = () => tf.concat(data.map((d, i) => tf.tensor(d, c.shapes[i])), c.axis);
      expectSame(await onBackend('wasm', run), await onBackend('cpu', run));
    });

    it(`gradient (the split): ${c.name}`, async () => {
      const data = c.shapes.map((s, i) => randomData(s.reduce((a, b) => a * b, 1), 50 + i));
      const out = c.shapes.map((s) => s.slice());
      const axis = c.axis < 0 ? out[0]!.length + c.axis : c.axis;
      const outShape = out[0]!.map((d, k) => (k === axis ? out.reduce((a, s) => a + s[k]!, 0) : d));
      const dy = randomData(outShape.reduce((a, b) => a * b, 1), 60);
      const run = () => {
        const xs = data.map((d, i) => tf.tensor(d, c.shapes[i]));
        return tf.grads((...inputs: tf.Tensor[]) => tf.concat(inputs, c.axis).mul(tf.tensor(dy, outShape)).sum())(xs);
      };
      expectSame(await onBackend('wasm', run), await onBackend('cpu', run));
    });
  }

  it('split into a number of equal parts and into sizes with −1', async () => {
    const x = randomData(4 * 6 * 10, 70);
    const run = () => [...tf.split(tf.tensor(x, [4, 6, 10]), 2, 2), ...tf.split(tf.tensor(x, [4, 6, 10]), [1, -1, 2], 1)];
    expectSame(await onBackend('wasm', run), await onBackend('cpu', run));
  });

  const slices: Array<{ name: string; shape: number[]; begin: number[]; size: number[] }> = [
    { name: 'a zero padding\'s gradient: inner rows and columns of every image', shape: [3, 8, 8, 5], begin: [0, 2, 2, 0], size: [3, 4, 4, 5] },
    { name: 'channels only (the innermost axis cut)', shape: [2, 3, 4, 6], begin: [0, 0, 0, 1], size: [2, 3, 4, 3] },
    { name: 'every axis cut, rank 5', shape: [3, 4, 5, 6, 2], begin: [1, 1, 2, 0, 1], size: [2, 2, 3, 5, 1] },
    { name: 'rank 2, columns', shape: [7, 9], begin: [1, 3], size: [5, 4] },
    { name: 'rank 1', shape: [10], begin: [3], size: [5] },
    { name: 'contiguous (whole images): the original', shape: [4, 3, 3, 2], begin: [1, 0, 0, 0], size: [2, 3, 3, 2] },
    // Above 2¹⁶ values per block: split across threads.
    { name: 'large rows (split)', shape: [2, 300, 300], begin: [0, 10, 20], size: [2, 250, 260] },
  ];
  for (const c of slices) {
    it(`slice: ${c.name}`, async () => {
      const x = randomData(c.shape.reduce((a, b) => a * b, 1), 80);
      const run = () => tf.slice(tf.tensor(x, c.shape), c.begin, c.size);
      expectSame(await onBackend('wasm', run), await onBackend('cpu', run));
    });
  }

  it('int32 goes to the original kernels', async () => {
    const run = () => tf.concat([tf.tensor([[1, 2]], [1, 2], 'int32'), tf.tensor([[3]], [1, 1], 'int32')], 1).cast('float32');
    expectSame(await onBackend('wasm', run), [Float32Array.from([1, 2, 3])]);
  });
});
