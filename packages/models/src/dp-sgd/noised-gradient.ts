import { GridContribution, addDiscreteGaussianNoise, cryptoRandomFill, decodeMean, gridFor, type RandomFill } from '@fedward/privacy';

/**
 * One DP-SGD step's gradient from the sampled records' own gradients, on the integer grid of the
 * client-level mechanism (one clip-and-encode for both, `GridContribution`): each record's
 * gradient is clipped to C and truncated onto the grid (‖x̃‖ ≤ bound exactly), the sum is exact,
 * discrete Gaussian noise of std σ·bound is added to every coordinate, and the result is decoded
 * and divided by the expected batch size B. No floating-point noise touches the gradient, so its
 * low-order bits cannot betray the clean sum.
 *
 * Reduction (`reduction`):
 * - 'sum' (default, the textbook form, Abadi et al. 2016): G = (Σ clip_C(g_i) + N(0, σ²C²))/B.
 * - 'mean' (deepee-compatible, docs/specs/deepee.md §4.2): deepee back-propagates the user's
 *   mean-reduced loss, so each replica holds g_i/B; it clips that to C, averages over the batch and
 *   adds noise of std C·σ/B: G = (1/B)·Σ clip_C(g_i/B) + N(0, (σC/B)²). Since clipping is
 *   positively homogeneous, clip_C(g/B) = clip_{BC}(g)/B, so this is computed exactly as the
 *   textbook form at clip C' = B·C, divided by B once more:
 *     G = (Σ clip_{BC}(g_i) + N(0, σ²(BC)²))/B².
 *   The sensitivity of the noised sum is BC and its noise σ·BC, so σ (and the accounting) is the
 *   same; only the scale differs (deepee(C, lr) = textbook(B·C, lr/B)). B must be public: the exact
 *   batch under uniform sampling, the expected one (q·records) under Poisson.
 */
export class NoisedGradient {
  private readonly sum: GridContribution;

  constructor(
    private readonly sizes: readonly number[],
    private readonly o: {
      clip: number;
      noiseMultiplier: number;
      random?: RandomFill;
      /** 'sum' (default): textbook; 'mean': deepee's mean-reduction scaling, with `batch` = B. */
      reduction?: 'sum' | 'mean';
      /** B of the 'mean' reduction (the batch deepee's loss is averaged over); public. */
      batch?: number;
    },
  ) {
    if (!(o.noiseMultiplier >= 0) || !Number.isFinite(o.noiseMultiplier)) throw new RangeError(`σ must be finite and ≥ 0 (got ${o.noiseMultiplier})`);
    if (o.reduction === 'mean' && !(o.batch !== undefined && o.batch > 0 && Number.isFinite(o.batch))) {
      throw new RangeError(`the mean reduction needs the batch size B > 0 (got ${o.batch})`);
    }
    const dimension = sizes.reduce((n, s) => n + s, 0);
    // 'mean': clip_C(g/B) = clip_{BC}(g)/B, so the grid clips at B·C (see the class comment).
    const clip = o.reduction === 'mean' ? o.clip * o.batch! : o.clip;
    this.sum = new GridContribution({ sizes, probe: false, countUnclipped: false, normSum: false }, gridFor(clip, dimension));
  }

  /** One record's gradient (per tensor, model order) and its L2 norm; clipped here. */
  add(gradient: readonly (Float32Array | Float64Array)[], norm: number): void {
    if (!Number.isFinite(norm)) throw new Error('a record\u2019s gradient is not finite');
    this.sum.addDelta(gradient, norm);
  }

  get records(): number {
    return this.sum.updates;
  }

  /** G = (Σ clip(g_i) + noise)/B, per tensor ('mean': (Σ clip_{BC}(g_i) + noise)/B²). */
  result(expectedBatch: number): Float64Array[] {
    const grid = this.sum.grid;
    if (this.o.noiseMultiplier > 0) for (const s of this.sum.sums) addDiscreteGaussianNoise(s, this.o.noiseMultiplier * grid.bound, this.o.random ?? cryptoRandomFill);
    if (!(expectedBatch > 0)) throw new RangeError(`the expected batch size must be positive (got ${expectedBatch})`);
    if (this.o.reduction === 'mean' && expectedBatch !== this.o.batch) throw new RangeError(`the mean reduction was set up for B = ${this.o.batch}, not ${expectedBatch}`);
    // Y/scale is post-processing of the released sum; B (Poisson: q·n, possibly fractional) is public.
    const divisor = this.o.reduction === 'mean' ? expectedBatch * expectedBatch : expectedBatch;
    const mean = decodeMean(this.sum.sums, grid, 1);
    for (const m of mean) for (let k = 0; k < m.length; k++) m[k]! /= divisor;
    this.sum.clear();
    return mean;
  }
}
