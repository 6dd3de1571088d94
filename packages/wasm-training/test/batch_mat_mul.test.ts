import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, it } from 'vitest';
import { expectClose, initWasm, onBackend, randomData } from './backends';

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
];

describe('BatchMatMul on wasm matches cpu', () => {
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
