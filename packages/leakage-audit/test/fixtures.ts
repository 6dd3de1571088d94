import * as tf from '@tensorflow/tfjs';
import { seededRandom } from '@fedward/models';

/** A seeded stand-in for a CSPRNG: the same seed gives the hospital's and the simulation's ε alike. */
export const seededFill = (seed: number) => {
  const rand = seededRandom(seed);
  return (b: Uint32Array) => {
    for (let k = 0; k < b.length; k++) b[k] = Math.floor(rand() * 2 ** 32) >>> 0;
  };
};

/** n uniform 16×16 images, seeded. */
export function images(n: number, seed: number): Float32Array {
  return tf.tidy(() => Float32Array.from(tf.randomUniform([n, 16, 16, 1], 0, 1, 'float32', seed).dataSync() as Float32Array));
}

/** The hospital's own normalisation (packages/data normalizeSlice 'zscore'), per image. */
export function zscore(x: Float32Array, area: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let s = 0; s < x.length; s += area) {
    const v = x.subarray(s, s + area);
    const mean = v.reduce((a, b) => a + b, 0) / area;
    const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / area) || 1;
    for (let i = 0; i < area; i++) out[s + i] = (v[i]! - mean) / sd;
  }
  return out;
}
