/**
 * Node only (`@fedward/wasm-training/node`): starting TF.js's wasm backend in a Node process. Kept
 * out of the main entry so that browser bundles never pull in node:module or node:path.
 */
import { createRequire } from 'node:module';
import { dirname, sep } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { setWasmPaths } from '@tensorflow/tfjs-backend-wasm';
import { registerWasmTrainingKernels } from './register';

/** Points tfjs-backend-wasm at its own .wasm files in node_modules (no download). */
export function setNodeWasmPaths(): void {
  const require = createRequire(import.meta.url);
  setWasmPaths(dirname(require.resolve('@tensorflow/tfjs-backend-wasm/dist/tfjs-backend-wasm.wasm')) + sep);
}

/**
 * TF.js on the WebAssembly backend in Node, with Fedward's training kernels, from the package's
 * own .wasm files. With `preferred` 'cpu', or where wasm cannot start, the pure-JS cpu backend;
 * says which it got.
 */
export async function nodeTrainingBackend(preferred: 'wasm' | 'cpu' = 'wasm'): Promise<'wasm' | 'cpu'> {
  if (preferred === 'wasm') {
    try {
      setNodeWasmPaths();
      registerWasmTrainingKernels();
      if (await tf.setBackend('wasm')) {
        await tf.ready();
        return 'wasm';
      }
    } catch {
      // fall through to cpu
    }
  }
  if (!(await tf.setBackend('cpu'))) throw new Error('TF.js cpu backend did not start');
  await tf.ready();
  return 'cpu';
}
