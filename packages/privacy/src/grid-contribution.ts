import { addOnGrid, encodeOnGrid, gridNormFloor, type Grid } from './fixed-point';

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
  private scratch: Float64Array[] | null = null;

  constructor(
    readonly shape: ContributionShape,
    readonly grid: Grid,
  ) {
    this.sums = shape.sizes.map((n) => new Float64Array(n));
  }

  /** Adds one update Δ_j (model units, per tensor) with its L2 norm. Keeps no reference to Δ. */
  addDelta(delta: readonly (Float32Array | Float64Array)[], norm: number): void {
    this.scratch ??= this.shape.sizes.map((n) => new Float64Array(n));
    const encoded = encodeOnGrid(delta, norm, this.grid, this.scratch);
    if (this.shape.normSum) this.gridNormSum += gridNormFloor(encoded);
    if (!this.shape.probe) addOnGrid(this.sums, encoded);
    if (norm <= this.grid.clip) this.unclipped += 1;
    this.updates += 1;
  }

  /**
   * Adds a flat contribution of `updates` updates (another GridContribution's `toFlat`, or the
   * unmasked sum of many). Throws when its length or any value is not what a contribution can be.
   */
  addFlat(flat: Float64Array, updates: number): void {
    const length = contributionLength(this.shape);
    if (flat.length !== length) throw new RangeError(`a contribution has ${length} values; this one has ${flat.length}`);
    if (!Number.isSafeInteger(updates) || updates < 1) throw new RangeError(`a contribution holds a positive whole number of updates (got ${updates})`);
    for (let k = 0; k < flat.length; k++) {
      if (!Number.isSafeInteger(flat[k]!)) throw new RangeError(`value ${k} of the contribution is not an integer on the grid (${flat[k]})`);
    }
    let at = 0;
    for (const sum of this.sums) {
      for (let k = 0; k < sum.length; k++) sum[k]! += flat[at + k]!;
      at += sum.length;
    }
    if (this.shape.countUnclipped) this.unclipped += flat[at++]!;
    if (this.shape.normSum) this.gridNormSum += flat[at++]!;
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

  /** Frees the sums and scratch (after the release). */
  clear(): void {
    this.sums.length = 0;
    this.scratch = null;
  }
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
