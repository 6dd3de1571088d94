import { ENCODE_ATTEMPTS, ENCODE_FAILED, ENCODE_SHRINK, clipFactor, floorSqrt, type Grid } from './fixed-point';
import { GridWasm, encodeJs, squaresJs } from './grid-kernels';

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

/** The largest sum an int32 holds. */
const NARROW_MAX = 2 ** 31 - 1;

export class GridContribution {
  unclipped = 0;
  gridNormSum = 0;
  updates = 0;
  /**
   * The sums live in two parts, sum = wide + narrow: `narrow`, flat int32 (the WebAssembly
   * module's memory where it runs), takes every update; `wide`, float64 per tensor, takes a flat
   * contribution (addFlat) and `narrow` folded into it before |narrow| could pass 2^31, and when
   * the sums are read. Both hold exact integers: narrow while |narrow| ≤ narrowBound < 2^31 (int32
   * wraps, so an add taken back is undone exactly whatever it did), wide while below 2^53.
   */
  private narrow: Int32Array | null = null;
  private narrowBound = 0;
  private wide: Float64Array[] | null = null;
  /** Narrow changed since the last fold. */
  private dirty = false;
  private cleared = false;
  /** Why the sums can no longer be trusted (a pass that failed half-way: see addUpdate), or null. */
  private broken: string | null = null;
  private readonly dimension: number;
  /** The WebAssembly side, made on the first addUpdate (null: the JS loops, or not yet). */
  private wasm: GridWasm | null = null;
  private wasmTried = false;

  constructor(
    readonly shape: ContributionShape,
    readonly grid: Grid,
  ) {
    this.dimension = shape.sizes.reduce((n, s) => n + s, 0);
  }

  /**
   * The sums, per tensor: exact integers in float64 (the release noises them in place). Reading
   * folds what was added since into them; the same arrays are returned every time.
   */
  get sums(): Float64Array[] {
    if (this.broken) throw new Error(this.broken);
    if (this.cleared) return [];
    this.fold();
    return this.wide!;
  }

  /** wide += narrow; narrow = 0. */
  private fold(): void {
    this.wide ??= this.shape.sizes.map((n) => new Float64Array(n));
    if (!this.dirty) return;
    const narrow = this.narrowView();
    let at = 0;
    for (const w of this.wide) {
      for (let k = 0; k < w.length; k++) w[k]! += narrow[at + k]!;
      at += w.length;
    }
    narrow.fill(0);
    this.narrowBound = 0;
    this.dirty = false;
  }

  /** Before an update goes into narrow: fold when it could take |narrow| past 2^31 − 1. */
  private makeRoom(): void {
    if (this.broken) throw new Error(this.broken);
    if (this.cleared) throw new Error('this contribution was cleared');
    if (this.narrowBound + this.grid.bound > NARROW_MAX) this.fold();
  }

  /**
   * The WebAssembly side for addUpdate (made once; null where the kernels cannot run): the sums
   * move into its memory.
   */
  private kernels(): GridWasm | null {
    if (!this.wasmTried) {
      this.wasmTried = true;
      this.wasm = GridWasm.create(this.dimension);
      // Its memory starts at zero: what narrow held moves there (nothing, the first time).
      if (this.wasm && this.narrow && this.dirty) this.wasm.sums().set(this.narrow);
      if (this.wasm) this.narrow = null;
    }
    return this.wasm;
  }

  /** The int32 sums (a view into the module's memory dies when it grows: taken again then). */
  private narrowView(): Int32Array {
    if (this.wasm) {
      if (this.narrow?.buffer !== this.wasm.memory.buffer) this.narrow = this.wasm.sums();
    } else this.narrow ??= new Int32Array(this.dimension);
    return this.narrow;
  }

  /**
   * `bytes` bytes for an upload whose update will be added here (the server assembles uploads in
   * them), in the WebAssembly kernels' memory, so that addUpdate reads the values in place instead
   * of copying them in (and splits its passes with a helper thread, where one is set); null where
   * the kernels do not run or every slot is in use (any other buffer then works as well, a little
   * slower). The buffer stays valid while it is held; give it back with `releaseBuffer` once
   * nothing decoded from it is in use.
   */
  uploadBuffer(bytes: number): Uint8Array | null {
    const wasm = this.cleared ? null : this.kernels();
    return wasm?.alloc(bytes) ?? null;
  }

  /** Gives back a buffer from `uploadBuffer`. */
  releaseBuffer(buffer: Uint8Array): void {
    this.wasm?.release(buffer);
  }

  /**
   * The first `received` bytes of an upload in `buffer` (from `uploadBuffer`) have arrived, in
   * order, and will not change while it is held: the norm pass of the update it will carry, against
   * `global` with `tau` (addUpdate's arguments), is taken block by block as they come, while they
   * are in cache; addUpdate then runs only the encode pass over it. The same bits as without (the
   * same blocks, summed in the same order). Any other buffer, or arguments addUpdate is not then
   * given: nothing used.
   */
  arrived(buffer: Uint8Array, received: number, global: readonly { values: Float32Array }[], tau = 1): void {
    if (this.cleared || this.broken) return;
    this.wasm?.arrived(buffer, received, global.map((t) => t.values), tau);
  }

  /**
   * Adds one update Δ_j (model units, per tensor) with its L2 norm. Keeps no reference to Δ.
   * Bit for bit `encodeOnGrid` then `addOnGrid` (and `gridNormFloor`), fused: one pass over Δ per
   * try of the exact norm check, one more to add, no scratch memory.
   */
  addDelta(delta: readonly (Float32Array | Float64Array)[], norm: number): void {
    this.checkSizes(delta.map((d) => d.length), 'Δ');
    this.makeRoom();
    const limit = this.grid.bound * this.grid.bound;
    let factor = clipFactor(norm, this.grid);
    for (let attempt = 0; attempt < ENCODE_ATTEMPTS; attempt++) {
      let squares = 0;
      for (let i = 0; i < delta.length; i++) squares += gridSquares(delta[i]!, factor);
      if (squares <= limit) {
        if (!this.shape.probe) {
          let at = 0;
          for (let i = 0; i < delta.length; i++) {
            addToGrid(this.narrowView(), at, delta[i]!, factor);
            at += delta[i]!.length;
          }
        }
        this.added(norm, squares);
        return;
      }
      factor *= ENCODE_SHRINK;
    }
    throw new Error(ENCODE_FAILED);
  }

  /**
   * Adds one update given as its new weights and the weights it started from:
   * Δ = (update − global)/τ exactly as `updateDelta` computes it (the same norm, in the lane order
   * of grid-kernels.ts), then clipped, encoded and summed exactly as `addDelta` does (the same
   * sums, count and norm sum, bit for bit). Two passes over the update (one, when it lies in a
   * buffer from `uploadBuffer` whose arrival was reported with these arguments: `arrived`), no
   * scratch memory: the norm, then encode, check and add together (an add that fails the exact
   * check, an ulp-level overshoot, is taken back exactly: int32 sums wrap). Returns ‖Δ‖. Throws, changing nothing,
   * when the update is not finite.
   *
   * `global` must not change while this contribution is in use: the WebAssembly side keeps a copy
   * of it (taken again only when other arrays are passed).
   */
  addUpdate(update: readonly { values: Float32Array }[], global: readonly { values: Float32Array }[], tau = 1): number {
    this.checkSizes(update.map((t) => t.values.length), 'the update');
    this.checkSizes(global.map((t) => t.values.length), 'the model');
    this.makeRoom();
    const u = update.map((t) => t.values);
    const g = global.map((t) => t.values);
    const wasm = this.kernels();
    const squares = wasm ? wasm.squares(u, g, tau) : squaresJs(update, global, tau);
    const norm = Math.sqrt(squares);
    if (!Number.isFinite(norm)) throw new RangeError(`the update is not finite (‖Δ‖ = ${norm})`);
    const encode = wasm
      ? (factor: number, mode: 1 | -1 | 0) => {
          try {
            return wasm.encode(u, g, tau, factor, mode);
          } catch (e) {
            // Half of a pass may have reached the sums (a helper thread that failed): nothing read
            // from them from now on could be trusted, so nothing is.
            this.broken = `the grid's sums are incomplete: an encode pass failed (${(e as Error).message})`;
            throw e;
          }
        }
      : (factor: number, mode: 1 | -1 | 0) => {
          let s = 0;
          let at = 0;
          for (let i = 0; i < u.length; i++) {
            s += encodeJs(this.narrowView(), at, u[i]!, g[i]!, tau, factor, mode);
            at += u[i]!.length;
          }
          return s;
        };
    const limit = this.grid.bound * this.grid.bound;
    let factor = clipFactor(norm, this.grid);
    // Adding before the check: every |x_k| is then within a hair of bound ≤ 2^22 (the norm bounds
    // each coordinate up to its rounding, 2^-27 relative at 2^28 values; it is far from underflow
    // here), so both kernels take the same int32 steps (|x| < 2^31), and a failed check takes
    // them back exactly.
    const optimistic = !this.shape.probe && squares >= 2 ** -900;
    for (let attempt = 0; attempt < ENCODE_ATTEMPTS; attempt++) {
      const gridSquares = encode(factor, optimistic ? 1 : 0);
      if (gridSquares <= limit) {
        if (!optimistic && !this.shape.probe) encode(factor, 1);
        this.added(norm, gridSquares);
        return norm;
      }
      if (optimistic) encode(factor, -1);
      factor *= ENCODE_SHRINK;
    }
    throw new Error(ENCODE_FAILED);
  }

  /** The bookkeeping of one encoded update x̃ with Σ x̃_i² = `gridSquares` (exact) from Δ of norm `norm`. */
  private added(norm: number, gridSquares: number): void {
    if (this.shape.normSum) this.gridNormSum += floorSqrt(gridSquares);
    if (!this.shape.probe) {
      this.narrowBound += this.grid.bound;
      this.dirty = true;
    }
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
    if (this.broken) throw new Error(this.broken);
    if (this.cleared) throw new Error('this contribution was cleared');
    for (let k = 0; k < flat.length; k++) {
      if (!Number.isSafeInteger(flat[k]!)) throw new RangeError(`value ${k} of the contribution is not an integer on the grid (${flat[k]})`);
    }
    this.wide ??= this.shape.sizes.map((n) => new Float64Array(n));
    let at = 0;
    for (const sum of this.wide) {
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

  /** Frees the sums (after the release). */
  clear(): void {
    this.wasm?.retire();
    this.cleared = true;
    this.wide = null;
    this.narrow = null;
    this.wasm = null;
    this.wasmTried = true;
  }
}

// The hot loops of addDelta, one tensor each, over flat typed arrays (no callbacks). Σ x̃² of
// integers is exact below 2^53 in any order, so its loops keep four sums; a total past the limit
// stays past it (rounding is monotone), so the check needs no early exit.

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

/** narrow[at + k] += trunc(d_k·factor) over one tensor (checked: every |x| ≤ bound). */
function addToGrid(narrow: Int32Array, at: number, d: Float32Array | Float64Array, factor: number): void {
  for (let k = 0; k < d.length; k++) narrow[at + k] = narrow[at + k]! + Math.trunc(d[k]! * factor);
}

/**
 * Δ = (update − global)/τ per tensor in float64 (into `scratch` when given), and its L2 norm (its
 * squares summed in the norm's order of grid-kernels.ts, as every path sums them): the server's
 * view of an update, and a hospital's own under secure aggregation.
 */
export function updateDelta(
  update: readonly { values: ArrayLike<number> }[],
  global: readonly { values: ArrayLike<number> }[],
  tau = 1,
  scratch?: Float64Array[],
): { delta: Float64Array[]; norm: number } {
  const delta = update.map((t, i) => {
    const g = global[i]!.values;
    const d = scratch?.[i] ?? new Float64Array(t.values.length);
    for (let k = 0; k < d.length; k++) d[k] = (t.values[k]! - g[k]!) / tau;
    return d;
  });
  // The same Δ_k again in the norm's pass: (u − g)/τ is one rounding, the same bits.
  return { delta, norm: Math.sqrt(squaresJs(update, global, tau)) };
}
