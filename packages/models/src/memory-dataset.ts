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

/** A dataset held in memory: used by Node clients, tests and the simulator. */
export class MemoryDataset implements Dataset {
  readonly size: number;

  constructor(
    private readonly samples: readonly { x: Float32Array; label: number }[],
  ) {
    this.size = samples.length;
  }

  async *batches(batchSize: number, options: { shuffleSeed?: number } = {}): AsyncIterable<Batch> {
    const order = shuffledIndices(this.size, options.shuffleSeed);
    const sampleLength = this.samples[0]?.x.length ?? 0;
    for (let start = 0; start < order.length; start += batchSize) {
      const ids = order.slice(start, start + batchSize);
      const x = new Float32Array(ids.length * sampleLength);
      const y = new Int32Array(ids.length);
      ids.forEach((id, k) => {
        const s = this.samples[id]!;
        x.set(s.x, k * sampleLength);
        y[k] = s.label;
      });
      yield { x, y, size: ids.length };
    }
  }
}
