/**
 * The integer grid of Fedward's DP aggregation (the path secure aggregation will use too).
 *
 * Why a grid: noise drawn in floating point and added to a floating-point average leaves the
 * low-order bits of the result depending on the clean value (Mironov 2012), so the released
 * weights can rule out a neighbouring dataset whatever the accountant says. Here every clipped
 * update becomes a vector of integers, the sum is exact, the noise is a discrete Gaussian on the
 * same integers, and the one released object is that noised integer sum. Turning it back into
 * weights (÷ scale·M, float32) is post-processing of a released value, so it cannot leak.
 *
 * Sensitivity: coordinates are truncated TOWARDS ZERO after scaling, so |x̃_i| ≤ |x_i| and
 * ‖x̃‖₂ ≤ ‖x‖₂ ≤ C·scale = bound. The bound is then checked exactly in integer arithmetic (the
 * float scaling could be off by an ulp); an update that fails it is shrunk and encoded again.
 * There is no rounding slack to account: one clipped update moves the integer sum by at most
 * `bound` in L2 (replacing it: 2·bound).
 */

/** Grid parameters of one round; all public (they depend on C and the model size only). */
export interface Grid {
  /** Clip bound C in model units. */
  clip: number;
  /** Grid units per model unit: bound / C. */
  scale: number;
  /** C on the grid: a power of two, the exact L2 bound of every encoded update. */
  bound: number;
  /** Model size d. */
  dimension: number;
}

/** Smallest bound: keeps truncation (≤ 1 unit per coordinate) far below a typical coordinate. */
const MIN_BOUND_BITS = 12;
/**
 * Largest bound: the discrete Gaussian's σ on the grid is z·bound (z ≤ 64 in practice), and its
 * sampler stays on exact double-precision integers up to about 2^26; sums of M ≤ 2^20 updates of
 * at most 2^22 per coordinate stay below 2^53.
 */
const MAX_BOUND_BITS = 22;

/**
 * The grid for clip C and a model of d values: bound = 2^k with 2^k ≥ 256·√d (a typical clipped
 * coordinate, C/√d, is then ≥ 256 grid units, so truncation changes it by < 0.4 %), 2^12 ≤ 2^k ≤ 2^22.
 */
export function gridFor(clip: number, dimension: number): Grid {
  if (!(clip > 0) || !Number.isFinite(clip)) throw new RangeError(`the clip bound must be positive and finite (got ${clip})`);
  if (!Number.isSafeInteger(dimension) || dimension < 1) throw new RangeError(`the model size must be a positive integer (got ${dimension})`);
  const bits = Math.min(MAX_BOUND_BITS, Math.max(MIN_BOUND_BITS, Math.ceil(Math.log2(256 * Math.sqrt(dimension)))));
  const bound = 2 ** bits;
  return { clip, scale: bound / clip, bound, dimension };
}

/** Exact test of Σ v_i² ≤ limit for integer v_i (stops as soon as the partial sum passes it). */
function squaredNormAtMost(tensors: readonly Float64Array[], limit: number): boolean {
  let s = 0;
  for (const v of tensors) {
    for (let k = 0; k < v.length; k++) {
      s += v[k]! * v[k]!;
      // s ≤ limit + one square ≤ 2^45 + 2^44 here: exact in a double.
      if (s > limit) return false;
    }
  }
  return true;
}

/**
 * Clips Δ (given per tensor in model units, with its L2 norm) to C and puts it on the grid:
 * x̃ = trunc(Δ·min(1, C/‖Δ‖)·scale). Returns integer-valued Float64Arrays with ‖x̃‖₂ ≤ bound,
 * checked exactly; `into` (same sizes, not Δ itself: a retry needs Δ) is filled instead of
 * allocating when given.
 */
export function encodeOnGrid(delta: readonly (Float32Array | Float64Array)[], norm: number, grid: Grid, into?: Float64Array[]): Float64Array[] {
  let factor = clipFactor(norm, grid);
  const limit = grid.bound * grid.bound;
  if (into === delta) throw new Error('encodeOnGrid: the output must not be the input (a retry needs Δ)');
  const encoded = into ?? delta.map((d) => new Float64Array(d.length));
  for (let attempt = 0; attempt < ENCODE_ATTEMPTS; attempt++) {
    for (let i = 0; i < delta.length; i++) {
      const d = delta[i]!;
      const x = encoded[i]!;
      for (let k = 0; k < d.length; k++) x[k] = Math.trunc(d[k]! * factor);
    }
    if (squaredNormAtMost(encoded, limit)) return encoded;
    // Float scaling overshot the bound by an ulp or two: shrink a little and encode again.
    factor *= ENCODE_SHRINK;
  }
  throw new Error(ENCODE_FAILED);
}

/**
 * The encoding's first scale factor, scale·min(1, C/‖Δ‖), for an update of norm ‖Δ‖ (checked
 * finite and ≥ 0); each failed exact check multiplies it by ENCODE_SHRINK, at most ENCODE_ATTEMPTS
 * tries in all. GridContribution's fused paths take exactly these steps.
 */
export function clipFactor(norm: number, grid: Grid): number {
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new RangeError(`the update's norm must be finite (got ${norm})`);
  return grid.scale * Math.min(1, grid.clip / (norm || 1));
}
export const ENCODE_ATTEMPTS = 64;
export const ENCODE_SHRINK = 1 - 2 ** -20;
export const ENCODE_FAILED = 'could not encode the update within the clip bound';

/** ⌊‖x̃‖₂⌋ of an encoded update, exactly (an integer in [0, bound]). */
export function gridNormFloor(encoded: readonly Float64Array[]): number {
  let s = 0;
  for (const v of encoded) for (let k = 0; k < v.length; k++) s += v[k]! * v[k]!;
  return floorSqrt(s);
}

/** ⌊√s⌋ of an exact integer s ≤ 2^52 (a squared grid norm, ≤ bound² ≤ 2^44), exactly. */
export function floorSqrt(s: number): number {
  // Correct the float square root to the exact integer floor.
  let r = Math.floor(Math.sqrt(s));
  while (r * r > s) r -= 1;
  while ((r + 1) * (r + 1) <= s) r += 1;
  return r;
}

/** sums += x̃, in place (integers; exact while |sum| < 2^53). */
export function addOnGrid(sums: readonly Float64Array[], encoded: readonly Float64Array[]): void {
  for (let i = 0; i < sums.length; i++) {
    const sum = sums[i]!;
    const x = encoded[i]!;
    for (let k = 0; k < sum.length; k++) sum[k]! += x[k]!;
  }
}

/** The mean in model units from a released (noised) integer sum of `count` updates: Y/(scale·count). */
export function decodeMean(noisedSums: readonly Float64Array[], grid: Grid, count: number): Float64Array[] {
  if (!Number.isSafeInteger(count) || count < 1) throw new RangeError(`the update count must be a positive integer (got ${count})`);
  const f = 1 / (grid.scale * count);
  return noisedSums.map((y) => {
    const a = new Float64Array(y.length);
    for (let k = 0; k < a.length; k++) a[k] = y[k]! * f;
    return a;
  });
}
