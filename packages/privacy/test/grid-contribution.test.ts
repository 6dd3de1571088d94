import { describe, expect, it } from 'vitest';
import { GridContribution, gridFor, updateDelta, type ContributionShape, type Grid } from '../src';
import { addDifferenceToGrid, takeDifferenceFromGrid } from '../src/grid-contribution';

/**
 * The fused paths of GridContribution (addDelta: check then add, no scratch; addUpdate: Δ never
 * formed, norm pass then encode-check-add) against the code they replaced, kept here verbatim:
 * the same sums, count and norm sum, bit for bit, on random inputs.
 */

// ---- the replaced implementation (fixed-point.ts and grid-contribution.ts before issue 17) ----

function refSquaredNormAtMost(tensors: readonly Float64Array[], limit: number): boolean {
  let s = 0;
  for (const v of tensors) {
    for (let k = 0; k < v.length; k++) {
      s += v[k]! * v[k]!;
      if (s > limit) return false;
    }
  }
  return true;
}

/** Tries the last refEncodeOnGrid call took (instrumentation, not in the replaced code). */
let refTries = 0;

function refEncodeOnGrid(delta: readonly (Float32Array | Float64Array)[], norm: number, grid: Grid, into?: Float64Array[]): Float64Array[] {
  if (!(norm >= 0) || !Number.isFinite(norm)) throw new RangeError(`the update's norm must be finite (got ${norm})`);
  let factor = grid.scale * Math.min(1, grid.clip / (norm || 1));
  const limit = grid.bound * grid.bound;
  const encoded = into ?? delta.map((d) => new Float64Array(d.length));
  for (let attempt = 0; attempt < 64; attempt++) {
    refTries = attempt + 1;
    delta.forEach((d, i) => {
      const x = encoded[i]!;
      for (let k = 0; k < d.length; k++) x[k] = Math.trunc(d[k]! * factor);
    });
    if (refSquaredNormAtMost(encoded, limit)) return encoded;
    factor *= 1 - 2 ** -20;
  }
  throw new Error('could not encode the update within the clip bound');
}

function refGridNormFloor(encoded: readonly Float64Array[]): number {
  let s = 0;
  for (const v of encoded) for (let k = 0; k < v.length; k++) s += v[k]! * v[k]!;
  let r = Math.floor(Math.sqrt(s));
  while (r * r > s) r -= 1;
  while ((r + 1) * (r + 1) <= s) r += 1;
  return r;
}

function refUpdateDelta(update: readonly { values: ArrayLike<number> }[], global: readonly { values: ArrayLike<number> }[], tau = 1): { delta: Float64Array[]; norm: number } {
  let squares = 0;
  const delta = update.map((t, i) => {
    const g = global[i]!.values;
    const d = new Float64Array(t.values.length);
    for (let k = 0; k < d.length; k++) {
      d[k] = (t.values[k]! - g[k]!) / tau;
      squares += d[k]! * d[k]!;
    }
    return d;
  });
  return { delta, norm: Math.sqrt(squares) };
}

class RefContribution {
  readonly sums: Float64Array[];
  unclipped = 0;
  gridNormSum = 0;
  updates = 0;
  constructor(
    readonly shape: ContributionShape,
    readonly grid: Grid,
  ) {
    this.sums = shape.sizes.map((n) => new Float64Array(n));
  }
  addDelta(delta: readonly (Float32Array | Float64Array)[], norm: number): void {
    const encoded = refEncodeOnGrid(delta, norm, this.grid, this.shape.sizes.map((n) => new Float64Array(n)));
    if (this.shape.normSum) this.gridNormSum += refGridNormFloor(encoded);
    if (!this.shape.probe) {
      this.sums.forEach((sum, i) => {
        const x = encoded[i]!;
        for (let k = 0; k < sum.length; k++) sum[k]! += x[k]!;
      });
    }
    if (norm <= this.grid.clip) this.unclipped += 1;
    this.updates += 1;
  }
}

// ---- random inputs ----

/** mulberry32: a small seeded generator, so a failure can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Sizes that exercise the unrolled loops' tails (1, 3, 5, … mod 4). */
const SIZES = [1, 3, 4, 7, 130, 1021, 4096];

function tensors(rand: () => number, scale: number, offset: (k: number) => number = () => 0): Float32Array[] {
  let at = 0;
  return SIZES.map((n) => {
    const v = new Float32Array(n);
    // Mixed magnitudes, some exact zeros, some values on or near the grid's integers.
    for (let k = 0; k < n; k++) {
      const r = rand();
      v[k] = offset(at + k) + (r < 0.05 ? 0 : (rand() - 0.5) * scale * (r < 0.1 ? 1e-6 : r < 0.2 ? 30 : 1));
    }
    at += n;
    return v;
  });
}

const bits = (sums: readonly Float64Array[]) => sums.map((s) => Array.from(s, (x) => (Object.is(x, -0) ? '-0' : String(x))));

function expectSame(fast: GridContribution, ref: RefContribution): void {
  expect(bits(fast.sums)).toEqual(bits(ref.sums));
  expect(fast.unclipped).toBe(ref.unclipped);
  expect(fast.gridNormSum).toBe(ref.gridNormSum);
  expect(fast.updates).toBe(ref.updates);
}

const shapes: ContributionShape[] = [
  { sizes: SIZES, probe: false, countUnclipped: true, normSum: true },
  { sizes: SIZES, probe: false, countUnclipped: false, normSum: false },
  { sizes: SIZES, probe: true, countUnclipped: true, normSum: true },
];
const dimension = SIZES.reduce((n, s) => n + s, 0);

describe('GridContribution fast paths, bit for bit against the replaced code', () => {
  it('addUpdate (weights and global, τ = 1 and τ > 1) equals updateDelta + the old encode, check, norm and sum', () => {
    for (const [s, shape] of shapes.entries()) {
      for (const clip of [1e-3, 0.05, 1, 40]) {
        const rand = seeded(1000 * s + Math.round(clip * 1000));
        const grid = gridFor(clip, dimension);
        const global = tensors(rand, 0.2).map((values) => ({ values }));
        const fast = new GridContribution(shape, grid);
        const ref = new RefContribution(shape, grid);
        for (let j = 0; j < 12; j++) {
          const g = global.map((t) => t.values);
          const update = tensors(rand, j % 3 === 0 ? 0.001 : 0.1).map((v, i) => {
            for (let k = 0; k < v.length; k++) v[k] = v[k]! + g[i]![k]!;
            return { values: v };
          });
          const tau = [1, 3, 7, 0.5][j % 4]!;
          const { delta, norm } = refUpdateDelta(update, global, tau);
          ref.addDelta(delta, norm);
          expect(fast.addUpdate(update, global, tau)).toBe(norm);
        }
        expectSame(fast, ref);
      }
    }
  });

  it('addDelta (float64 and float32 Δ) equals the old encode, check, norm and sum', () => {
    for (const [s, shape] of shapes.entries()) {
      const rand = seeded(77 + s);
      const grid = gridFor(0.3, dimension);
      const fast = new GridContribution(shape, grid);
      const ref = new RefContribution(shape, grid);
      for (let j = 0; j < 20; j++) {
        const f32 = tensors(rand, [0.001, 0.01, 0.5][j % 3]!);
        const delta = j % 2 ? f32 : f32.map((v) => Float64Array.from(v, (x, k) => x * (1 + 1e-9 * k)));
        const norm = updateDelta(delta.map((values) => ({ values })), delta.map((d) => ({ values: new Float32Array(d.length) }))).norm;
        ref.addDelta(delta, norm);
        fast.addDelta(delta, norm);
      }
      expectSame(fast, ref);
    }
  });

  it('takes the same retries when the norm it is given is short, and fails alike, changing nothing', () => {
    const shape = shapes[0]!;
    const grid = gridFor(0.01, dimension);
    const rand = seeded(5);
    const fast = new GridContribution(shape, grid);
    const ref = new RefContribution(shape, grid);
    let retried = 0;
    let refused = 0;
    for (let j = 0; j < 4; j++) {
      const delta = tensors(rand, 0.1).map((v) => Float64Array.from(v));
      const { norm } = refUpdateDelta(delta.map((values) => ({ values })), delta.map((d) => ({ values: new Float64Array(d.length) })));
      // Short norms overshoot the bound: some take a few shrinks of 2^-20, the shortest fail all 64.
      for (let short = 1e-4; short < 3e-2; short *= 1.08) {
        let failed = false;
        try {
          ref.addDelta(delta, norm * (1 - short));
        } catch (e) {
          expect((e as Error).message).toMatch(/within the clip bound/);
          failed = true;
        }
        if (failed) {
          refused += 1;
          expect(() => fast.addDelta(delta, norm * (1 - short))).toThrow(/within the clip bound/);
        } else {
          if (refTries > 1) retried += 1;
          fast.addDelta(delta, norm * (1 - short));
        }
      }
    }
    expect(retried).toBeGreaterThan(3);
    expect(refused).toBeGreaterThan(3);
    expectSame(fast, ref);
  });

  it('takes an add back exactly (the optimistic path\u2019s undo)', () => {
    const rand = seeded(13);
    for (const tau of [1, 3]) {
      const [u, g] = [tensors(rand, 1)[6]!, tensors(rand, 1)[6]!];
      const sum = Float64Array.from({ length: u.length }, () => Math.round((rand() - 0.5) * 2 ** 40));
      const before = Array.from(sum);
      addDifferenceToGrid(sum, u, g, tau, 2 ** 20);
      expect(Array.from(sum)).not.toEqual(before);
      takeDifferenceFromGrid(sum, u, g, tau, 2 ** 20);
      expect(Array.from(sum)).toEqual(before);
    }
  });

  it('adds without the optimistic path when the sums are near 2^53, still bit for bit', () => {
    const shape = shapes[0]!;
    const grid = gridFor(1, dimension);
    const rand = seeded(9);
    // Just past where adding before the check could lose exactness, yet exact for a real add.
    const start = 2 ** 53 - 4 * grid.bound + 1;
    const big = new Float64Array(dimension + 2).fill(start);
    big[dimension] = 0;
    big[dimension + 1] = 0;
    const fast = new GridContribution(shape, grid);
    const ref = new RefContribution(shape, grid);
    fast.addFlat(big, 1);
    for (const sum of ref.sums) sum.fill(start);
    ref.updates = 1;
    const global = tensors(rand, 1).map((values) => ({ values }));
    for (let j = 0; j < 4; j++) {
      const update = tensors(rand, 1).map((values) => ({ values }));
      const { delta, norm } = refUpdateDelta(update, global);
      ref.addDelta(delta, norm);
      fast.addUpdate(update, global);
    }
    expectSame(fast, ref);
  });

  it('refuses a non-finite update or one of the wrong shape before changing anything', () => {
    const shape = shapes[0]!;
    const grid = gridFor(1, dimension);
    const rand = seeded(11);
    const fast = new GridContribution(shape, grid);
    const global = tensors(rand, 1).map((values) => ({ values }));
    const update = tensors(rand, 1).map((values) => ({ values }));
    update[3]!.values[2] = Number.POSITIVE_INFINITY;
    expect(() => fast.addUpdate(update, global)).toThrow(/not finite/);
    update[3]!.values[2] = Number.NaN;
    expect(() => fast.addUpdate(update, global)).toThrow(/not finite/);
    expect(() => fast.addUpdate(update.slice(1), global)).toThrow(/tensors/);
    expect(() => fast.addDelta([new Float64Array(2)], 1)).toThrow(/tensors/);
    expect(fast.updates).toBe(0);
    expect(fast.sums.every((s) => s.every((x) => x === 0))).toBe(true);
  });
});
