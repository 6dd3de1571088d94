import type { Batch, Dataset } from './types';

/** Mulberry32: a tiny seeded PRNG for reproducible shuffles (never used for privacy noise). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffledIndices(n: number, seed: number | undefined): number[] {
  const order = Array.from({ length: n }, (_, i) => i);
  if (seed === undefined) return order;
  const rand = seededRandom(seed);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  return order;
}

/** One in-memory sample: pixels (H×W×C), a class label, and for segmentation a mask (H×W, [0, 1]). */
export interface MemorySample {
  x: Float32Array;
  label: number;
  mask?: Float32Array;
}

/** A dataset held in memory: used by Node clients, tests and the simulator. */
export class MemoryDataset implements Dataset {
  readonly size: number;

  constructor(private readonly samples: readonly MemorySample[]) {
    this.size = samples.length;
    const withMask = samples.filter((s) => s.mask).length;
    if (withMask !== 0 && withMask !== samples.length) {
      throw new Error(`either every sample has a mask or none does (${withMask} of ${samples.length} have one)`);
    }
  }

  async *batches(batchSize: number, options: { shuffleSeed?: number } = {}): AsyncIterable<Batch> {
    const order = shuffledIndices(this.size, options.shuffleSeed);
    const sampleLength = this.samples[0]?.x.length ?? 0;
    const maskLength = this.samples[0]?.mask?.length;
    for (let start = 0; start < order.length; start += batchSize) {
      const ids = order.slice(start, start + batchSize);
      const x = new Float32Array(ids.length * sampleLength);
      const y = new Int32Array(ids.length);
      const mask = maskLength === undefined ? undefined : new Float32Array(ids.length * maskLength);
      ids.forEach((id, k) => {
        const s = this.samples[id]!;
        x.set(s.x, k * sampleLength);
        y[k] = s.label;
        if (mask) mask.set(s.mask!, k * maskLength!);
      });
      yield mask ? { x, y, size: ids.length, mask } : { x, y, size: ids.length };
    }
  }
}
