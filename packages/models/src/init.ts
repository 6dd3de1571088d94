import * as tf from '@tensorflow/tfjs';
import { seededRandom } from './memory-dataset';

/**
 * Seeded, backend-independent initialisation written after the model is built (the layers are
 * built with zero initialisers): each tensor draws from its own Mulberry32 stream, seeded from
 * the spec's seed and the tensor's public name, so a tensor's initial values do not depend on
 * how many tensors come before it.
 */

/** FNV-1a of the name mixed with the seed. */
function streamSeed(seed: number, name: string): number {
  let h = 0x811c9dc5 ^ (seed >>> 0);
  for (let i = 0; i < name.length; i++) {
    h ^= name.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

export type InitRule =
  | { kind: 'zeros' }
  /** All ones: a norm's γ. */
  | { kind: 'ones' }
  /** N(0, std²), untruncated (Box–Muller): torch's kaiming_normal_ with std = sqrt(2/fan_in). */
  | { kind: 'normal'; std: number }
  /** U(−bound, bound): torch's default for Conv/Linear, bound = 1/sqrt(fan_in). */
  | { kind: 'uniform'; bound: number };

export function initialValues(seed: number, name: string, size: number, rule: InitRule): Float32Array {
  const out = new Float32Array(size);
  if (rule.kind === 'zeros') return out;
  if (rule.kind === 'ones') return out.fill(1);
  const rand = seededRandom(streamSeed(seed, name));
  if (rule.kind === 'uniform') {
    for (let i = 0; i < size; i++) out[i] = (rand() * 2 - 1) * rule.bound;
    return out;
  }
  for (let i = 0; i < size; i += 2) {
    const u1 = 1 - rand(); // (0, 1]
    const u2 = rand();
    const r = Math.sqrt(-2 * Math.log(u1)) * rule.std;
    out[i] = r * Math.cos(2 * Math.PI * u2);
    if (i + 1 < size) out[i + 1] = r * Math.sin(2 * Math.PI * u2);
  }
  return out;
}

/** Writes every weight of `model` from `rule(name, shape)`; names as getWeights gives them. */
export function initializeWeights(
  model: tf.LayersModel,
  seed: number,
  rule: (name: string, shape: readonly number[]) => InitRule,
): void {
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = weightName(layer.name, w);
      const shape = w.shape as number[];
      const size = shape.reduce((a, b) => a * b, 1);
      tf.tidy(() => {
        w.write(tf.tensor(initialValues(seed, name, size, rule(name, shape)), shape));
      });
    }
  }
}

/** Public name of a layer weight: "<layer name>/<kernel|bias>". */
export function weightName(layerName: string, w: tf.LayerVariable): string {
  return `${layerName}/${w.originalName.split('/').pop()}`;
}
