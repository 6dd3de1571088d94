import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe } from 'vitest';
import { registerWasmTrainingKernels } from '../src';
import { setNodeWasmPaths } from '../src/node';
import { setNativeKernelsMode, setNativeSplitForTests } from '../src/native';
import type { NativeKernelsMode } from '../src/native';

/** Initialises the wasm backend in Node from the package's own .wasm files. */
export async function initWasm(): Promise<void> {
  setNodeWasmPaths();
  registerWasmTrainingKernels();
  if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
}

/** Runs `f` on the named backend and returns its outputs as plain arrays. */
export async function onBackend(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<Float32Array[]> {
  if (!(await tf.setBackend(backend))) throw new Error(`${backend} backend failed to initialise`);
  const out = tf.tidy(f);
  const list = Array.isArray(out) ? out : [out];
  const values = list.map((t) => Float32Array.from(t.dataSync()));
  tf.dispose(list);
  return values;
}

/** Deterministic pseudo-random data, so that a failure reproduces. */
export function randomData(size: number, seed: number): Float32Array {
  const out = new Float32Array(size);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < size; i++) {
    s ^= s << 13; s ^= s >>> 17; s ^= s << 5;
    out[i] = ((s >>> 0) / 0xffffffff) * 2 - 1;
  }
  return out;
}

/** The same values, NaN where NaN and −0 where −0: for kernels that must give the unfused kernels' bits. */
export function expectSameBits(actual: Float32Array, expected: Float32Array): void {
  if (actual.length !== expected.length) throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!(Number.isNaN(e) ? Number.isNaN(a) : Object.is(a, e))) throw new Error(`element ${i}: ${a} vs expected ${e}`);
  }
}

/**
 * Element-wise |actual − expected| ≤ tol · max|expected|: the gradients are
 * long float32 sums whose rounding error scales with their magnitude.
 */
export function expectClose(actual: Float32Array, expected: Float32Array, tol = 1e-4): void {
  if (actual.length !== expected.length) {
    throw new Error(`length ${actual.length} ≠ expected ${expected.length}`);
  }
  let scale = 0;
  for (const v of expected) scale = Math.max(scale, Math.abs(v));
  const limit = tol * Math.max(scale, 1e-6);
  for (let i = 0; i < actual.length; i++) {
    const diff = Math.abs(actual[i]! - expected[i]!);
    if (!(diff <= limit)) {
      throw new Error(`element ${i}: ${actual[i]} vs expected ${expected[i]} (|diff| ${diff} > ${limit})`);
    }
  }
}

/**
 * The implementations every kernel test runs: the package's wasm kernels
 * (with relaxed SIMD where the engine validates it: vitest.config.ts passes
 * Node 20 the flag), the same without relaxed SIMD, and the JS fallbacks
 * (no wasm SIMD), which compose tfjs-backend-wasm's own kernels; and the
 * wasm kernels with every call split into 3 parts as the thread pool splits
 * it (batch or row ranges; Node has no pool, so the parts run in turn).
 */
export type KernelMode = readonly [label: string, mode: NativeKernelsMode, split?: number];
export const kernelModes: readonly KernelMode[] = [
  ['wasm kernels', 'auto'],
  ['wasm kernels without relaxed SIMD', 'simd'],
  ['JS fallbacks', 'off'],
  ['wasm kernels split in 3 parts as across threads', 'auto', 3],
];

/** Selects a kernel implementation (and split) for the wasm runs that follow. */
export function selectMode([, mode, split]: KernelMode): void {
  setNativeKernelsMode(mode);
  setNativeSplitForTests(split ?? 1);
}

/** `describe` once per kernel implementation, with that implementation selected. */
export function describeModes(name: string, body: (mode: NativeKernelsMode) => void,
  modes: readonly KernelMode[] = kernelModes): void {
  for (const entry of modes) {
    describe(`${name} (${entry[0]})`, () => {
      beforeAll(() => selectMode(entry));
      afterAll(() => selectMode(['', 'auto']));
      body(entry[1]);
    });
  }
}
