import * as tf from '@tensorflow/tfjs';
import { beforeAll, it } from 'vitest';
import { describeModes, expectClose, initWasm, onBackend, randomData } from './backends';

beforeAll(initWasm);

const cases: Array<{ a: number[]; b: number[]; transposeA: boolean; transposeB: boolean }> = [
  { a: [7, 5], b: [5, 3], transposeA: false, transposeB: false },
  { a: [5, 7], b: [5, 3], transposeA: true, transposeB: false },
  { a: [7, 5], b: [3, 5], transposeA: false, transposeB: true },
  { a: [5, 7], b: [3, 5], transposeA: true, transposeB: true },
  { a: [1, 33, 65], b: [1, 33, 17], transposeA: true, transposeB: false },
  { a: [1, 9, 40], b: [1, 64, 40], transposeA: false, transposeB: true },
  { a: [3, 4, 6], b: [3, 5, 6], transposeA: false, transposeB: true },
  { a: [2, 6, 4], b: [1, 6, 5], transposeA: true, transposeB: false },
  // A dense layer's three products (batch 6, 300 → 21): forward, dX = dY·Wᵀ, dW = Xᵀ·dY;
  // the inner dimension spans two of the GEMM's 256-long panels.
  { a: [6, 300], b: [300, 21], transposeA: false, transposeB: false },
  { a: [6, 21], b: [300, 21], transposeA: false, transposeB: true },
  { a: [6, 300], b: [6, 21], transposeA: true, transposeB: false },
  // Few rows and enough work to split across the workers (a dense layer's batch), each operand
  // transposed or not.
  { a: [6, 700], b: [700, 45], transposeA: false, transposeB: false },
  { a: [6, 300], b: [300, 70], transposeA: false, transposeB: false },
  { a: [6, 45], b: [700, 45], transposeA: false, transposeB: true },
  // dX = dY·Wᵀ of a dense layer (Wᵀ far wider than dY is tall: taken as (W·dYᵀ)ᵀ), odd sizes.
  { a: [13, 20], b: [130, 20], transposeA: false, transposeB: true },
  { a: [700, 6], b: [700, 45], transposeA: true, transposeB: false },
  // More rows than the GEMM takes with a thread pool (XNNPACK's side of the rule).
  { a: [150, 37], b: [37, 12], transposeA: false, transposeB: false },
  { a: [37, 150], b: [9, 37], transposeA: true, transposeB: true },
];

describeModes('BatchMatMul on wasm matches cpu', () => {
  for (const c of cases) {
    it(`${JSON.stringify(c.a)}${c.transposeA ? 'ᵀ' : ''} × ${JSON.stringify(c.b)}${c.transposeB ? 'ᵀ' : ''}`, async () => {
      const a = randomData(c.a.reduce((x, y) => x * y), 11);
      const b = randomData(c.b.reduce((x, y) => x * y), 12);
      const run = () => tf.matMul(tf.tensor(a, c.a), tf.tensor(b, c.b), c.transposeA, c.transposeB);
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!);
    });
  }
});

describeModes('Add on wasm matches cpu', () => {
  const adds: Array<[string, number[], number[]]> = [
    ['conv bias [2,5,6,13] + [13]', [2, 5, 6, 13], [13]],
    ['dense bias [7,64] + [64]', [7, 64], [64]],
    ['large conv bias [3,50,45,13] + [13] (split across threads)', [3, 50, 45, 13], [13]],
    ['bias first: [1,1,8] + [3,4,8]', [1, 1, 8], [3, 4, 8]],
    ['same shapes', [3, 4, 5], [3, 4, 5]],
    ['scalar', [3, 4, 5], []],
    ['broadcast over rows, not a bias: [3,4,5] + [4,1]', [3, 4, 5], [4, 1]],
  ];
  for (const [name, aShape, bShape] of adds) {
    it(name, async () => {
      const a = randomData(aShape.reduce((x, y) => x * y, 1), 15);
      const b = randomData(bShape.reduce((x, y) => x * y, 1), 16);
      const run = () => tf.add(tf.tensor(a, aShape), tf.tensor(b, bShape));
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!, 1e-6);
    });
  }
});

describeModes('Multiply and Sub by a vector along the last axis on wasm match cpu', () => {
  const cases: Array<[string, number[], number[]]> = [
    ['norm-sized [2,5,6,8] and [8]', [2, 5, 6, 8], [8]],
    ['vector first: [1,1,1,8] and [3,4,5,8]', [1, 1, 1, 8], [3, 4, 5, 8]],
    ['odd width [4,7,13] and [13]', [4, 7, 13], [13]],
    ['large [3,50,45,13] and [13] (split across threads)', [3, 50, 45, 13], [13]],
    ['same shapes', [3, 4, 5], [3, 4, 5]],
    ['broadcast over rows, not a vector of the last axis: [3,4,5] and [4,1]', [3, 4, 5], [4, 1]],
  ];
  for (const [name, aShape, bShape] of cases) {
    for (const [op, f] of [['Multiply', tf.mul], ['Sub', tf.sub]] as const) {
      it(`${op}: ${name}`, async () => {
        const a = randomData(aShape.reduce((x, y) => x * y, 1), 17);
        const b = randomData(bShape.reduce((x, y) => x * y, 1), 18);
        const run = () => f(tf.tensor(a, aShape), tf.tensor(b, bShape));
        const [expected] = await onBackend('cpu', run);
        const [actual] = await onBackend('wasm', run);
        // One float32 operation per element: the same on both backends.
        expectClose(actual!, expected!, 0);
      });
    }
  }
});
