import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';
import { FUSED_ADAM_KERNEL, seededRandom } from '../src';
import { AdamOptimizer } from '../src/adam';
import { useWasmTrainingBackend } from './wasm-backend';

/*
 * On wasm, @fedward/wasm-training registers the fused Adam kernel under models' name for it:
 * AdamOptimizer must then run it (one kernel per tensor instead of a dozen) and land on the same
 * float32 values, to the bit, as the op-by-op update it runs where no backend has the kernel.
 */
useWasmTrainingBackend();

/** Runs `steps` AMSGrad or Adam steps on a conv-like and a dense-like tensor; returns parameters and state. */
async function run(amsgrad: boolean, steps: number): Promise<{ kernels: Set<string>; values: Float32Array[] }> {
  const rand = seededRandom(7);
  const shapes = [[3, 3, 4, 8], [300, 5], [5]];
  const params = shapes.map((shape, i) => ({
    name: `w${i}`,
    variable: tf.variable(tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b) }, () => rand() - 0.5), shape)),
  }));
  const opt = new AdamOptimizer(params);
  const kernels = new Set<string>();
  for (let t = 0; t < steps; t++) {
    const grads = new Map(params.map(({ name, variable }) =>
      [name, tf.tensor(Float32Array.from({ length: variable.size }, () => (rand() - 0.5) * 10 ** -(t % 3)), variable.shape)]));
    const info = await tf.profile(() => tf.tidy(() => opt.apply(grads, 1e-2, amsgrad)));
    for (const k of info.kernels) kernels.add(k.name);
    tf.dispose([...grads.values()]);
  }
  const state = opt.getState()!;
  const values = [
    ...params.map(({ variable }) => Float32Array.from(variable.dataSync())),
    ...state.slots.flatMap((s) => (s.vmax ? [s.m, s.v, s.vmax] : [s.m, s.v])),
  ];
  opt.dispose();
  params.forEach(({ variable }) => variable.dispose());
  return { kernels, values };
}

describe('fused Adam kernel on wasm', () => {
  for (const amsgrad of [true, false]) {
    it(`${amsgrad ? 'AMSGrad' : 'Adam'}: runs the fused kernel and equals the op-by-op update to the bit`, async () => {
      const withKernel = await run(amsgrad, 6);
      // Besides it, only the slots' creation (ZerosLike) at the first step.
      expect([...withKernel.kernels].filter((k) => k !== 'ZerosLike')).toEqual([FUSED_ADAM_KERNEL]);

      tf.unregisterKernel(FUSED_ADAM_KERNEL, 'wasm');
      try {
        const opByOp = await run(amsgrad, 6);
        expect(opByOp.kernels.has(FUSED_ADAM_KERNEL)).toBe(false);
        expect(opByOp.kernels.has('Sqrt')).toBe(true);
        expect(withKernel.values.length).toBe(opByOp.values.length);
        withKernel.values.forEach((v, i) => {
          const a = new Uint32Array(v.buffer, v.byteOffset, v.length);
          const e = new Uint32Array(opByOp.values[i]!.buffer, opByOp.values[i]!.byteOffset, v.length);
          expect(a.findIndex((bits, j) => bits !== e[j]), `tensor ${i}`).toBe(-1);
        });
      } finally {
        registerWasmTrainingKernels();
      }
    });
  }
});
