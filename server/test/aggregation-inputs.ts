import type { NamedTensor } from '@fedward/protocol';

/**
 * Inputs shared by the aggregation tests. Tests only: the product's noise comes from WebCrypto.
 */

/**
 * A deterministic stand-in for the CSPRNG (xorshift32 words), so that two aggregators fed the
 * same updates draw the same noise in the same order and their releases can be compared bit for
 * bit.
 */
export const counterFill = (): ((b: Uint32Array) => void) => {
  let x = 0x9e3779b9;
  return (b) => {
    for (let k = 0; k < b.length; k++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      b[k] = x >>> 0;
    }
  };
};

/** A model of tensors `t<i>/kernel` of these sizes: `around` plus uniform noise of width `scale` (a tenth 20× wider). */
export const randomModel = (sizes: readonly number[], rand: () => number, scale: number, around?: readonly NamedTensor[]): NamedTensor[] =>
  sizes.map((n, i) => ({
    name: `t${i}/kernel`,
    shape: [n],
    values: Float32Array.from({ length: n }, (_, k) => (around ? around[i]!.values[k]! : 0) + (rand() - 0.5) * scale * (rand() < 0.1 ? 20 : 1)),
  }));

/** Every tensor's bytes in hex: equal exactly when the values are equal bit for bit. */
export const bytesOf = (w: readonly NamedTensor[]) => w.map((t) => Buffer.from(t.values.buffer, t.values.byteOffset, t.values.byteLength).toString('hex'));
