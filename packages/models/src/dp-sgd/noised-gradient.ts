import { GridContribution, addDiscreteGaussianNoise, cryptoRandomFill, decodeMean, gridFor, type RandomFill } from '@fedward/privacy';

/**
 * One DP-SGD step's gradient from the sampled records' own gradients, on the integer grid of the
 * client-level mechanism (one clip-and-encode for both, `GridContribution`): each record's
 * gradient is clipped to C and truncated onto the grid (‖x̃‖ ≤ bound exactly), the sum is exact,
 * discrete Gaussian noise of std σ·bound is added to every coordinate, and the result is decoded
 * and divided by the expected batch size B. No floating-point noise touches the gradient, so its
 * low-order bits cannot betray the clean sum.
 */
export class NoisedGradient {
  private readonly sum: GridContribution;

  constructor(
    private readonly sizes: readonly number[],
    private readonly o: { clip: number; noiseMultiplier: number; random?: RandomFill },
  ) {
    if (!(o.noiseMultiplier >= 0) || !Number.isFinite(o.noiseMultiplier)) throw new RangeError(`σ must be finite and ≥ 0 (got ${o.noiseMultiplier})`);
    const dimension = sizes.reduce((n, s) => n + s, 0);
    this.sum = new GridContribution({ sizes, probe: false, countUnclipped: false, normSum: false }, gridFor(o.clip, dimension));
  }

  /** One record's gradient (per tensor, model order) and its L2 norm; clipped here. */
  add(gradient: readonly Float64Array[], norm: number): void {
    if (!Number.isFinite(norm)) throw new Error('a record\u2019s gradient is not finite');
    this.sum.addDelta(gradient, norm);
  }

  get records(): number {
    return this.sum.updates;
  }

  /** G = (Σ clip(g_i) + noise)/B, per tensor. */
  result(expectedBatch: number): Float64Array[] {
    const grid = this.sum.grid;
    if (this.o.noiseMultiplier > 0) for (const s of this.sum.sums) addDiscreteGaussianNoise(s, this.o.noiseMultiplier * grid.bound, this.o.random ?? cryptoRandomFill);
    if (!(expectedBatch > 0)) throw new RangeError(`the expected batch size must be positive (got ${expectedBatch})`);
    // Y/scale is post-processing of the released sum; B (Poisson: q·n, possibly fractional) is public.
    const mean = decodeMean(this.sum.sums, grid, 1);
    for (const m of mean) for (let k = 0; k < m.length; k++) m[k]! /= expectedBatch;
    this.sum.clear();
    return mean;
  }
}
