import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';
import { createRequire } from 'node:module';
import path from 'node:path';
import { afterAll, beforeAll } from 'vitest';

const require = createRequire(import.meta.url);

/**
 * For a test file: the wasm backend with @fedward/wasm-training's kernels (the fused kernels
 * models' code runs where a backend registers them) for its tests, cpu again after them.
 */
export function useWasmTrainingBackend(): void {
  beforeAll(async () => {
    const dist = path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm'));
    setWasmPaths(`${dist}${path.sep}`);
    registerWasmTrainingKernels();
    if (!(await tf.setBackend('wasm'))) throw new Error('wasm backend failed to initialise');
  });
  afterAll(async () => {
    registerWasmTrainingKernels();
    await tf.setBackend('cpu');
  });
}
