import * as tf from '@tensorflow/tfjs';
import type { BackendName } from '@fedward/protocol';

/**
 * Activates a TF.js backend. Only cpu and webgl ship with @tensorflow/tfjs; wasm and webgpu are
 * registered by importing their packages, which the caller (app or worker) does when it wants them.
 */
export async function activateBackend(preferred: readonly BackendName[]): Promise<BackendName> {
  const errors: string[] = [];
  for (const name of preferred) {
    try {
      if (await tf.setBackend(name)) {
        await tf.ready();
        return name;
      }
      errors.push(`${name}: not available`);
    } catch (e) {
      errors.push(`${name}: ${(e as Error).message}`);
    }
  }
  throw new Error(`no TF.js backend could start (${errors.join('; ')})`);
}
