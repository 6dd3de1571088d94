import type { RandomFill } from '@fedward/privacy';

/**
 * Who takes part in one DP-SGD step, drawn from a CSPRNG (the sampling is part of the privacy
 * guarantee: a predictable sampler would let an observer tell who was in a batch).
 *
 * - Poisson (what the RDP accountant's subsampled Gaussian assumes, as in Opacus): every record
 *   takes part independently with probability q, so the batch size varies.
 * - Uniform (deepee's sampler, accounted with its GDP CLT formulas): exactly `size` records drawn
 *   without replacement, every batch independently.
 */

/** A uniform 53-bit fraction in [0, 1) from two CSPRNG words. */
function fractions(count: number, random: RandomFill): Float64Array {
  const words = new Uint32Array(2 * count);
  random(words);
  const out = new Float64Array(count);
  for (let i = 0; i < count; i++) out[i] = ((words[2 * i]! >>> 5) * 67108864 + (words[2 * i + 1]! >>> 6)) / 9007199254740992;
  return out;
}

/** Indices of the records in one Poisson-sampled batch: each of `records` with probability q. */
export function poissonBatch(records: number, q: number, random: RandomFill): number[] {
  if (!(q > 0 && q <= 1)) throw new RangeError(`the sampling probability must be in (0, 1] (got ${q})`);
  const u = fractions(records, random);
  const picked: number[] = [];
  for (let i = 0; i < records; i++) if (u[i]! < q) picked.push(i);
  return picked;
}

/** `size` distinct record indices drawn uniformly without replacement (partial Fisher–Yates). */
export function uniformBatch(records: number, size: number, random: RandomFill): number[] {
  if (!Number.isInteger(size) || size < 1 || size > records) throw new RangeError(`a uniform batch takes 1 to ${records} records (got ${size})`);
  const order = Array.from({ length: records }, (_, i) => i);
  const u = fractions(size, random);
  for (let i = 0; i < size; i++) {
    const j = i + Math.floor(u[i]! * (records - i));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order.slice(0, size);
}
