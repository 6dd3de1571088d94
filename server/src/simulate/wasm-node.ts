import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from '@fedward/wasm-training';

/**
 * TF.js on the WebAssembly backend in Node, with Fedward's training kernels, from the package's
 * own .wasm files (no download). Falls back to the pure-JS cpu backend, and says which it got.
 */
export async function nodeTrainingBackend(): Promise<'wasm' | 'cpu'> {
  try {
    const require = createRequire(import.meta.url);
    setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
    registerWasmTrainingKernels();
    if (await tf.setBackend('wasm')) {
      await tf.ready();
      return 'wasm';
    }
  } catch {
    // fall through to cpu
  }
  await tf.setBackend('cpu');
  return 'cpu';
}
