import { ENCODE_ATTEMPTS, ENCODE_FAILED, ENCODE_SHRINK, clipFactor, floorSqrt, type Grid } from './fixed-point';

/**
 * What a DP round sums on the integer grid, in ONE place for the server and for a hospital under
 * secure aggregation: the server feeds it every update it receives; a hospital feeds it its own
 * sub-clients' updates and sends the result masked, so the server only ever adds whole sums.
 *
 * Per update j (Δ_j already divided by τ_j under FedNova):
 *   x̃_j = trunc(Δ_j·min(1, C/‖Δ_j‖)·scale), ‖x̃_j‖ ≤ bound   (fixed-point.ts)
 *   sums += x̃_j                       (unless a probe round: the model does not move)
 *   unclipped += [‖Δ_j‖ ≤ C]           (quantile rule only)
 *   normSum += ⌊‖x̃_j‖⌋                 (adaptive VN rule only)
 * As a flat vector (`toFlat`): the d sums, then the count, then the norm sum, where present.
 */
export interface ContributionShape {
  /** Values per tensor, in the model's order. */
  sizes: readonly number[];
  /** Probe round: the sums are not computed (the flat vector still has d zeros, so its length is public and fixed). */
  probe: boolean;
  /** Quantile clip rule: count the updates within C. */
  countUnclipped: boolean;
  /** Adaptive VN rule: sum the grid norms. */
  normSum: boolean;
}

/** The length of a contribution's flat vector: d, plus one for the count and one for the norm sum where present. */
export function contributionLength(shape: ContributionShape): number {
  return shape.sizes.reduce((n, s) => n + s, 0) + (shape.countUnclipped ? 1 : 0) + (shape.normSum ? 1 : 0);
}

/**
 * The largest number of updates whose grid sum fits a signed 32-bit ring element (secure
 * aggregation's Z_{2^32}): every coordinate of a sum of M updates, and the norm sum, is at most
 * M·bound in magnitude, since |x̃_ji| ≤ ‖x̃_j‖ ≤ bound.
 */
export function maxUpdatesOnRing(grid: Grid, ringBits = 32): number {
  return Math.floor((2 ** (ringBits - 1) - 1) / grid.bound);
}

export class GridContribution {
  readonly sums: Float64Array[];
  unclipped = 0;
  gridNormSum = 0;
  updates = 0;
  /** An upper bound on every |sums[k]|: while it stays far below 2^53, an add can be taken back exactly. */
  private sumBound = 0;

  constructor(
    readonly shape: ContributionShape,
    readonly grid: Grid,
  ) {
    this.sums = shape.sizes.map((n) => new Float64Array(n));
  }

  /**
   * Adds one update Δ_j (model units, per tensor) with its L2 norm. Keeps no reference to Δ.
   * Bit for bit `encodeOnGrid` then `addOnGrid` (and `gridNormFloor`), fused: one pass over Δ per
   * try of the exact norm check, one more to add, no scratch memory.
   */
  addDelta(delta: readonly (Float32Array | Float64Array)[], norm: number): void {
    this.checkSizes(delta.map((d) => d.length), 'Δ');
    const limit = this.grid.bound * this.grid.bound;
    let factor = clipFactor(norm, this.grid);
    for (let attempt = 0; attempt < ENCODE_ATTEMPTS; attempt++) {
      let squares = 0;
      for (let i = 0; i < delta.length; i++) squares += gridSquares(delta[i]!, factor);
      if (squares <= limit) {
        if (!this.shape.probe) for (let i = 0; i < delta.length; i++) addToGrid(this.sums[i]!, delta[i]!, factor);
        this.added(norm, squares);
        return;
      }
      factor *= ENCODE_SHRINK;
    }
    throw new Error(ENCODE_FAILED);
  }

  /**
   * Adds one update given as its new weights and the weights it started from:
   * Δ = (update − global)/τ exactly as `updateDelta` computes it, then clipped, encoded and summed
   * exactly as `addDelta` does (the same sums, count and norm sum, bit for bit). Two passes over the
   * update, no scratch memory: the norm, then encode, check and add together (an add that fails the
   * exact check, an ulp-level overshoot, is taken back exactly: integers below 2^53). Returns ‖Δ‖.
   * Throws, changing nothing, when the update is not finite.
   */
  addUpdate(update: readonly { values: Float32Array }[], global: readonly { values: Float32Array }[], tau = 1): number {
    this.checkSizes(update.map((t) => t.values.length), 'the update');
    this.checkSizes(global.map((t) => t.values.length), 'the model');
    // The one float64 sum of squares updateDelta forms, in its order (this pass sets the speed:
    // each step waits on the one before, and any other order changes the norm's last bits).
    let squares = 0;
    for (let i = 0; i < update.length; i++) squares = differenceSquares(update[i]!.values, global[i]!.values, tau, squares);
    const norm = Math.sqrt(squares);
    if (!Number.isFinite(norm)) throw new RangeError(`the update is not finite (‖Δ‖ = ${norm})`);
    const limit = this.grid.bound * this.grid.bound;
    let factor = clipFactor(norm, this.grid);
    // Adding before the check is exact when every coordinate of the encoding is ≤ 2·bound, which
    // the norm guarantees (it is far from underflow here), and no sum can leave the exact integers.
    const optimistic = !this.shape.probe && squares >= 2 ** -900 && this.sumBound + 4 * this.grid.bound < 2 ** 53;
    for (let attempt = 0; attempt < ENCODE_ATTEMPTS; attempt++) {
      let gridSquares = 0;
      if (optimistic) {
        for (let i = 0; i < update.length; i++) gridSquares += addDifferenceToGrid(this.sums[i]!, update[i]!.values, global[i]!.values, tau, factor);
        if (gridSquares <= limit) {
          this.added(norm, gridSquares);
          return norm;
        }
        for (let i = 0; i < update.length; i++) takeDifferenceFromGrid(this.sums[i]!, update[i]!.values, global[i]!.values, tau, factor);
      } else {
        for (let i = 0; i < update.length; i++) gridSquares += differenceGridSquares(update[i]!.values, global[i]!.values, tau, factor);
        if (gridSquares <= limit) {
          if (!this.shape.probe) for (let i = 0; i < update.length; i++) addDifferenceToGrid(this.sums[i]!, update[i]!.values, global[i]!.values, tau, factor);
          this.added(norm, gridSquares);
          return norm;
        }
      }
      factor *= ENCODE_SHRINK;
    }
    throw new Error(ENCODE_FAILED);
  }

  /** The bookkeeping of one encoded update x̃ with Σ x̃_i² = `gridSquares` (exact) from Δ of norm `norm`. */
  private added(norm: number, gridSquares: number): void {
    if (this.shape.normSum) this.gridNormSum += floorSqrt(gridSquares);
    if (!this.shape.probe) this.sumBound += this.grid.bound;
    if (norm <= this.grid.clip) this.unclipped += 1;
    this.updates += 1;
  }

  /** Throws unless `lengths` (values per tensor) are the contribution's sizes. */
  private checkSizes(lengths: readonly number[], what: string): void {
    const sizes = this.shape.sizes;
    if (lengths.length !== sizes.length) throw new RangeError(`${what} has ${lengths.length} tensors; the contribution has ${sizes.length}`);
    for (let i = 0; i < sizes.length; i++) {
      if (lengths[i] !== sizes[i]) throw new RangeError(`tensor ${i} of ${what} has ${lengths[i]} values; the contribution's has ${sizes[i]}`);
    }
  }

  /**
   * Adds a flat contribution of `updates` updates (another GridContribution's `toFlat`, or the
   * unmasked sum of many). Throws when its length or any value is not what a contribution can be.
   */
  addFlat(flat: Float64Array, updates: number): void {
    const length = contributionLength(this.shape);
    if (flat.length !== length) throw new RangeError(`a contribution has ${length} values; this one has ${flat.length}`);
    if (!Number.isSafeInteger(updates) || updates < 1) throw new RangeError(`a contribution holds a positive whole number of updates (got ${updates})`);
    let largest = 0;
    for (let k = 0; k < flat.length; k++) {
      if (!Number.isSafeInteger(flat[k]!)) throw new RangeError(`value ${k} of the contribution is not an integer on the grid (${flat[k]})`);
      largest = Math.max(largest, Math.abs(flat[k]!));
    }
    let at = 0;
    for (const sum of this.sums) {
      for (let k = 0; k < sum.length; k++) sum[k]! += flat[at + k]!;
      at += sum.length;
    }
    if (this.shape.countUnclipped) this.unclipped += flat[at++]!;
    if (this.shape.normSum) this.gridNormSum += flat[at++]!;
    this.sumBound += largest;
    this.updates += updates;
  }

  /** The flat vector: the d sums, then the count, then the norm sum, where present. */
  toFlat(): Float64Array {
    const flat = new Float64Array(contributionLength(this.shape));
    let at = 0;
    for (const sum of this.sums) {
      flat.set(sum, at);
      at += sum.length;
    }
    if (this.shape.countUnclipped) flat[at++] = this.unclipped;
    if (this.shape.normSum) flat[at++] = this.gridNormSum;
    return flat;
  }

  /** Frees the sums (after the release). */
  clear(): void {
    this.sums.length = 0;
  }
}

// The hot loops, one tensor each, over flat typed arrays (no callbacks). Σ x̃² of integers is
// exact below 2^53 in any order, so its loops keep four sums; a total past the limit stays past it
// (rounding is monotone), so the check needs no early exit.

/** Σ trunc(d_k·factor)² over one tensor of Δ. */
function gridSquares(d: Float32Array | Float64Array, factor: number): number {
  const n = d.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    const x0 = Math.trunc(d[k]! * factor);
    const x1 = Math.trunc(d[k + 1]! * factor);
    const x2 = Math.trunc(d[k + 2]! * factor);
    const x3 = Math.trunc(d[k + 3]! * factor);
    s0 += x0 * x0;
    s1 += x1 * x1;
    s2 += x2 * x2;
    s3 += x3 * x3;
  }
  for (; k < n; k++) {
    const x = Math.trunc(d[k]! * factor);
    s0 += x * x;
  }
  return s0 + s1 + (s2 + s3);
}

/** sum += trunc(d·factor) over one tensor. */
function addToGrid(sum: Float64Array, d: Float32Array | Float64Array, factor: number): void {
  for (let k = 0; k < sum.length; k++) sum[k]! += Math.trunc(d[k]! * factor);
}

/** The running Σ ((u_k − g_k)/τ)², continued from `squares` in index order (updateDelta's sum). */
function differenceSquares(u: Float32Array, g: Float32Array, tau: number, squares: number): number {
  const n = u.length;
  if (tau === 1) {
    // x/1 is x: the division is skipped, not changed.
    for (let k = 0; k < n; k++) {
      const d = u[k]! - g[k]!;
      squares += d * d;
    }
  } else {
    for (let k = 0; k < n; k++) {
      const d = (u[k]! - g[k]!) / tau;
      squares += d * d;
    }
  }
  return squares;
}

/** Σ x_k² with x = trunc((u − g)/τ·factor) over one tensor, adding nothing. */
function differenceGridSquares(u: Float32Array, g: Float32Array, tau: number, factor: number): number {
  const n = u.length;
  let s = 0;
  for (let k = 0; k < n; k++) {
    const x = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
    s += x * x;
  }
  return s;
}

/** sum += x with x = trunc((u − g)/τ·factor) over one tensor; returns Σ x_k². (Exported for tests.) */
export function addDifferenceToGrid(sum: Float64Array, u: Float32Array, g: Float32Array, tau: number, factor: number): number {
  const n = sum.length;
  let s0 = 0;
  let s1 = 0;
  let s2 = 0;
  let s3 = 0;
  let k = 0;
  if (tau === 1) {
    for (; k + 3 < n; k += 4) {
      const x0 = Math.trunc((u[k]! - g[k]!) * factor);
      const x1 = Math.trunc((u[k + 1]! - g[k + 1]!) * factor);
      const x2 = Math.trunc((u[k + 2]! - g[k + 2]!) * factor);
      const x3 = Math.trunc((u[k + 3]! - g[k + 3]!) * factor);
      sum[k]! += x0;
      sum[k + 1]! += x1;
      sum[k + 2]! += x2;
      sum[k + 3]! += x3;
      s0 += x0 * x0;
      s1 += x1 * x1;
      s2 += x2 * x2;
      s3 += x3 * x3;
    }
  } else {
    for (; k + 3 < n; k += 4) {
      const x0 = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
      const x1 = Math.trunc(((u[k + 1]! - g[k + 1]!) / tau) * factor);
      const x2 = Math.trunc(((u[k + 2]! - g[k + 2]!) / tau) * factor);
      const x3 = Math.trunc(((u[k + 3]! - g[k + 3]!) / tau) * factor);
      sum[k]! += x0;
      sum[k + 1]! += x1;
      sum[k + 2]! += x2;
      sum[k + 3]! += x3;
      s0 += x0 * x0;
      s1 += x1 * x1;
      s2 += x2 * x2;
      s3 += x3 * x3;
    }
  }
  for (; k < n; k++) {
    const x = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
    sum[k]! += x;
    s0 += x * x;
  }
  return s0 + s1 + (s2 + s3);
}

/** Takes back `addDifferenceToGrid` with the same arguments, exactly (integer sums below 2^53). (Exported for tests.) */
export function takeDifferenceFromGrid(sum: Float64Array, u: Float32Array, g: Float32Array, tau: number, factor: number): void {
  for (let k = 0; k < sum.length; k++) sum[k]! -= Math.trunc(((u[k]! - g[k]!) / tau) * factor);
}

/**
 * Δ = (update − global)/τ per tensor in float64 (into `scratch` when given), and its L2 norm: the
 * server's view of an update, and a hospital's own under secure aggregation.
 */
export function updateDelta(
  update: readonly { values: ArrayLike<number> }[],
  global: readonly { values: ArrayLike<number> }[],
  tau = 1,
  scratch?: Float64Array[],
): { delta: Float64Array[]; norm: number } {
  let squares = 0;
  const delta = update.map((t, i) => {
    const g = global[i]!.values;
    const d = scratch?.[i] ?? new Float64Array(t.values.length);
    for (let k = 0; k < d.length; k++) {
      d[k] = (t.values[k]! - g[k]!) / tau;
      squares += d[k]! * d[k]!;
    }
    return d;
  });
  return { delta, norm: Math.sqrt(squares) };
}
