import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GridContribution, gridFor, gridKernelsInUse, setGridHelper, setGridKernelsMode, updateDelta, type ContributionShape, type GridHelper, type Grid } from '../src';
import { GridWasm, encodeJs } from '../src/grid-kernels';

/**
 * The fused paths of GridContribution (addDelta: check then add, no scratch; addUpdate: Δ never
 * formed, norm pass then encode-check-add, int32 sums, WebAssembly SIMD or JS loops) against the
 * code they replaced, kept here verbatim but for the order of the norm's sum (refLaneNorm): the
 * same sums, count and norm sum, bit for bit, on random inputs, with either kernels.
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

/**
 * The norm's one rounded sum in the order every path now uses (issue 17): per block of 65,536 flat
 * coordinates, eight running sums, lane = flat index mod 8, combined as
 * ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)); the blocks' values added in block order.
 * Before, it was ONE running sum in index order (refSequentialSquares): see the tolerance test below.
 */
function refLaneSquares(delta: readonly ArrayLike<number>[]): number {
  const combine = (l: number[]) => l[0]! + l[1]! + (l[2]! + l[3]!) + (l[4]! + l[5]! + (l[6]! + l[7]!));
  let l = [0, 0, 0, 0, 0, 0, 0, 0];
  let total = 0;
  let flat = 0;
  for (const d of delta) {
    for (let k = 0; k < d.length; k++) {
      l[flat % 8]! += d[k]! * d[k]!;
      flat += 1;
      if (flat % 65536 === 0) {
        total += combine(l);
        l = [0, 0, 0, 0, 0, 0, 0, 0];
      }
    }
  }
  return flat % 65536 === 0 ? total : total + combine(l);
}

function refSequentialSquares(delta: readonly ArrayLike<number>[]): number {
  let squares = 0;
  for (const d of delta) for (let k = 0; k < d.length; k++) squares += d[k]! * d[k]!;
  return squares;
}

function refUpdateDelta(update: readonly { values: ArrayLike<number> }[], global: readonly { values: ArrayLike<number> }[], tau = 1): { delta: Float64Array[]; norm: number } {
  const delta = update.map((t, i) => {
    const g = global[i]!.values;
    const d = new Float64Array(t.values.length);
    for (let k = 0; k < d.length; k++) d[k] = (t.values[k]! - g[k]!) / tau;
    return d;
  });
  return { delta, norm: Math.sqrt(refLaneSquares(delta)) };
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

for (const kernels of ['auto', 'js'] as const) {
describe(`GridContribution fast paths (${kernels === 'auto' ? 'WebAssembly SIMD' : 'JS'} kernels), bit for bit against the replaced code`, () => {
  beforeAll(() => setGridKernelsMode(kernels));
  afterAll(() => setGridKernelsMode('auto'));

  it('runs the kernels it says', () => {
    // Node has WebAssembly SIMD: 'auto' must pick it, or this suite would test the JS twice.
    expect(gridKernelsInUse()).toBe(kernels === 'auto' ? 'wasm-simd' : 'js');
  });

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

  it('takes an add back exactly (the optimistic path\u2019s undo), wrapping int32 sums alike', () => {
    const rand = seeded(13);
    for (const tau of [1, 3]) {
      const [u, g] = [tensors(rand, 1)[6]!, tensors(rand, 1)[6]!];
      // Sums anywhere in int32, some at its ends, so that adds wrap both ways; |x| up to 2^17
      // (Σ x² stays below 2^53, where it is exact in any order).
      const start = Int32Array.from({ length: u.length }, (_, k) => (k % 5 === 0 ? 2 ** 31 - 1 : k % 5 === 1 ? -(2 ** 31) : Math.round((rand() - 0.5) * 2 ** 32)));
      const js = start.slice();
      const squares = encodeJs(js, 0, u, g, tau, 2 ** 12, 1);
      expect(Array.from(js)).not.toEqual(Array.from(start));
      const wasm = GridWasm.create(u.length);
      if (kernels === 'auto') {
        expect(wasm).not.toBeNull();
        wasm!.sums().set(start);
        expect(wasm!.encode([u], [g], tau, 2 ** 12, 1)).toBe(squares);
        expect(Array.from(wasm!.sums())).toEqual(Array.from(js));
        expect(wasm!.encode([u], [g], tau, 2 ** 12, -1)).toBe(squares);
        expect(Array.from(wasm!.sums())).toEqual(Array.from(start));
        expect(wasm!.encode([u], [g], tau, 2 ** 12, 0)).toBe(squares);
        expect(Array.from(wasm!.sums())).toEqual(Array.from(start));
      }
      expect(encodeJs(js, 0, u, g, tau, 2 ** 12, -1)).toBe(squares);
      expect(Array.from(js)).toEqual(Array.from(start));
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

  it('folds the int32 sums into float64 before they could overflow, still bit for bit', () => {
    // A grid of bound 2^26 (a real one stops at 2^22): int32 holds 31 such updates, so 70 fold twice.
    const shape = shapes[0]!;
    const grid: Grid = { clip: 0.5, scale: 2 ** 26 / 0.5, bound: 2 ** 26, dimension };
    const rand = seeded(21);
    const global = tensors(rand, 0.2).map((values) => ({ values }));
    const fast = new GridContribution(shape, grid);
    const ref = new RefContribution(shape, grid);
    for (let j = 0; j < 70; j++) {
      // The same update over and over (large, so clipped to the bound) drives some sums far out.
      // One coordinate carries most of the norm, so its sum grows by nearly the bound each time.
      const update = tensors(seeded(j % 3), 1e-3).map((v, i) => ({ values: v.map((x, k) => x + global[i]!.values[k]! + (i === 5 && k === 17 ? 2 : 0)) }));
      const { delta, norm } = refUpdateDelta(update, global);
      ref.addDelta(delta, norm);
      expect(fast.addUpdate(update, global)).toBe(norm);
      if (j === 40) expectSame(fast, ref); // a read folds too; adds go on after it
    }
    expectSame(fast, ref);
    expect(Math.max(...ref.sums.map((s) => Math.max(...s.map(Math.abs))))).toBeGreaterThan(2 ** 31);
  });

  it('reads an update that lives in its memory in place (the server\u2019s uploads), with the same result', () => {
    const shape = shapes[0]!;
    const grid = gridFor(0.05, dimension);
    const rand = seeded(31);
    const global = tensors(rand, 0.2).map((values) => ({ values }));
    const fast = new GridContribution(shape, grid);
    const ref = new RefContribution(shape, grid);
    const buffers: Uint8Array[] = [];
    for (let j = 0; j < 6; j++) {
      const values = tensors(rand, 0.01).map((v, i) => v.map((x, k) => x + global[i]!.values[k]!));
      // An upload's layout: a header of 12 bytes, then the values; a buffer taken after some adds
      // grows the memory (the sums' views must follow), and buffers are reused once given back.
      const placed = fast.uploadBuffer(12 + 4 * dimension);
      expect(placed === null).toBe(kernels === 'js');
      const bytes = placed ?? new Uint8Array(12 + 4 * dimension);
      buffers.push(bytes);
      const all = new Float32Array(bytes.buffer, bytes.byteOffset + 12, dimension);
      let at = 0;
      const update = values.map((v) => {
        all.set(v, at);
        at += v.length;
        return { values: all.subarray(at - v.length, at) };
      });
      const { delta, norm } = refUpdateDelta(update, global);
      ref.addDelta(delta, norm);
      expect(fast.addUpdate(update, global)).toBe(norm);
      if (j % 2 === 1) fast.releaseBuffer(bytes);
    }
    if (kernels === 'auto') {
      // Kept buffers stay valid (the memory never grows under them); given back ones are reused.
      for (const b of buffers) expect(b.buffer).toBe(buffers[0]!.buffer);
      expect(buffers[2]!.byteOffset).toBe(buffers[1]!.byteOffset);
      expect(buffers[4]!.byteOffset).toBe(buffers[3]!.byteOffset);
      expect(new Set(buffers.map((b) => b.byteOffset)).size).toBe(4);
    }
    expectSame(fast, ref);
  });

  it('reuses a cleared contribution\u2019s kernel memory only when no upload buffer is still held', () => {
    const shape = shapes[1]!;
    const grid = gridFor(0.05, dimension);
    const rand = seeded(43);
    const global = tensors(rand, 0.2).map((values) => ({ values }));
    const updates = Array.from({ length: 3 }, () => tensors(rand, 0.1).map((v, i) => ({ values: v.map((x, k) => x + global[i]!.values[k]!) })));
    const ref = new RefContribution(shape, grid);
    for (const u of updates) ref.addDelta(refUpdateDelta(u, global).delta, refUpdateDelta(u, global).norm);
    const memories = [];
    let held: Uint8Array | null = null;
    for (let round = 0; round < 4; round++) {
      const fast = new GridContribution(shape, grid);
      const slot = fast.uploadBuffer(64);
      memories.push(slot?.buffer);
      for (const u of updates) fast.addUpdate(u, global);
      expectSame(fast, ref); // the reused memory's sums start at zero
      if (round === 1) held = slot; // kept, e.g. a personalization round keeps the decoded update
      else if (slot) fast.releaseBuffer(slot);
      fast.clear();
    }
    if (kernels === 'auto') {
      expect(memories[1]).toBe(memories[0]);
      expect(memories[2]).not.toBe(memories[1]); // round 1 still held a buffer
      expect(memories[3]).toBe(memories[2]);
      expect(held!.length).toBe(64);
    }
  });

  it('gives the same bits for tensors longer than a copied-in block (16384 values)', () => {
    const sizes = [40_003, 17, 16_390];
    const d = sizes.reduce((n, x) => n + x, 0);
    const shape: ContributionShape = { sizes, probe: false, countUnclipped: true, normSum: true };
    const grid = gridFor(0.02, d);
    const rand = seeded(53);
    const make = (scale: number, around?: Float32Array[]) => sizes.map((n, i) => Float32Array.from({ length: n }, (_, k) => (around ? around[i]![k]! : 0) + (rand() - 0.5) * scale));
    const g = make(0.2);
    const global = g.map((values) => ({ values }));
    const fast = new GridContribution(shape, grid);
    const ref = new RefContribution(shape, grid);
    for (let j = 0; j < 4; j++) {
      const update = make(j % 2 ? 1e-4 : 0.01, g).map((values) => ({ values }));
      const tau = j < 2 ? 1 : 3;
      const { delta, norm } = refUpdateDelta(update, global, tau);
      ref.addDelta(delta, norm);
      expect(fast.addUpdate(update, global, tau)).toBe(norm);
    }
    expectSame(fast, ref);
  });

  it('sums the norm in lanes within the documented tolerance of the single running sum it replaced', () => {
    // Both orders are a float64 sum of the same n squares: each is within (n − 1)·2^-53 of the
    // exact sum (relative, all terms ≥ 0), so they are within twice that of each other; in
    // practice a few ulps. The clip factor follows the norm, so an x̃ can differ by one grid
    // unit where Δ_k·factor is within an ulp or so of an integer: a few times in 10^9 coordinates.
    const rand = seeded(41);
    let largest = 0;
    for (let j = 0; j < 200; j++) {
      const delta = tensors(rand, [1e-3, 0.1, 30][j % 3]!);
      const n = delta.reduce((m, d) => m + d.length, 0);
      const lanes = refLaneSquares(delta);
      const sequential = refSequentialSquares(delta);
      const relative = Math.abs(lanes - sequential) / sequential;
      expect(relative).toBeLessThanOrEqual(2 * (n - 1) * 2 ** -53);
      largest = Math.max(largest, relative);
      expect(updateDelta(delta.map((values) => ({ values })), delta.map((d) => ({ values: new Float32Array(d.length) }))).norm).toBe(Math.sqrt(lanes));
    }
    expect(largest).toBeLessThan(1e-13);
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
}

/**
 * A helper that runs the second half of a pass on the calling thread, when it is waited for: the
 * split and the sum of the halves are what is tested here (the real thread, the server's, in
 * server/test/grid-helper.test.ts).
 */
class InlineHelper implements GridHelper {
  readonly calls: string[] = [];
  attaches = 0;
  private exports: Record<string, (...args: number[]) => number | undefined> | null = null;
  private pending: (() => number) | null = null;
  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): void {
    this.attaches += 1;
    this.exports = new WebAssembly.Instance(module, { env: { memory } }).exports as never;
  }
  start(name: 'norm_blocks' | 'grid_add', args: readonly number[]): void {
    this.calls.push(name);
    this.pending = () => this.exports![name]!(...args) ?? 0;
  }
  finish(): number {
    const result = this.pending!();
    this.pending = null;
    return result;
  }
}

describe('the norm by blocks of 65,536 coordinates, and the passes split with a helper thread: the same bits on every path', () => {
  // 301,081 values: five norm blocks, tensor edges inside blocks and at odd offsets.
  const sizes = [3, 70001, 131072, 100000, 5];
  const d = sizes.reduce((n, x) => n + x, 0);
  const shape: ContributionShape = { sizes, probe: false, countUnclipped: true, normSum: true };
  const grid = gridFor(0.05, d);
  const make = (rand: () => number, scale: number, base?: readonly { values: Float32Array }[]) =>
    sizes.map((n, i) => {
      const v = new Float32Array(n);
      for (let k = 0; k < n; k++) v[k] = (base?.[i]!.values[k] ?? 0) + (rand() < 0.05 ? 0 : (rand() - 0.5) * scale);
      return { values: v };
    });
  const rand = seeded(53);
  const global = make(rand, 0.2);
  // Small (unclipped) and large (clipped) updates.
  const updates = [1e-5, 1e-3, 0.05].map((scale) => make(rand, scale, global));
  afterAll(() => {
    setGridHelper(null);
    setGridKernelsMode('auto');
  });

  for (const tau of [1, 3]) {
    it(`τ = ${tau}: JS loops, kernels on copied-in values, kernels in place, kernels in place split with a helper`, () => {
      const ref = new RefContribution(shape, grid);
      const norms = updates.map((u) => {
        const { delta, norm } = refUpdateDelta(u, global, tau);
        ref.addDelta(delta, norm);
        expect(updateDelta(u, global, tau).norm).toBe(norm);
        return norm;
      });
      const helper = new InlineHelper();
      for (const path of ['js', 'copied in', 'in place', 'split'] as const) {
        setGridKernelsMode(path === 'js' ? 'js' : 'auto');
        setGridHelper(path === 'split' ? helper : null);
        const fast = new GridContribution(shape, grid);
        updates.forEach((u, j) => {
          let update: { values: Float32Array<ArrayBufferLike> }[] = u;
          if (path === 'in place' || path === 'split') {
            const bytes = fast.uploadBuffer(4 * d)!;
            const all = new Float32Array(bytes.buffer, bytes.byteOffset, d);
            let at = 0;
            update = u.map((t) => {
              all.set(t.values, at);
              at += t.values.length;
              return { values: all.subarray(at - t.values.length, at) };
            });
          }
          expect(fast.addUpdate(update, global, tau), `${path}, update ${j}`).toBe(norms[j]);
        });
        expectSame(fast, ref);
        fast.clear();
      }
      // The split ran: both passes of every update (the norm once, the encode at least once each).
      expect(helper.attaches).toBe(1);
      expect(helper.calls.filter((c) => c === 'norm_blocks')).toHaveLength(updates.length);
      expect(helper.calls.filter((c) => c === 'grid_add').length).toBeGreaterThanOrEqual(updates.length);
    });
  }

  it('takes the norm as an upload arrives, block by block, with the same bits; an arrival not for this add is not used', () => {
    setGridKernelsMode('auto');
    const helper = new InlineHelper();
    setGridHelper(helper);
    // An upload as the server assembles it: a header (12 bytes here), then the values, its last 4·d bytes.
    const bytes = 12 + 4 * d;
    const put = (slot: Uint8Array, u: readonly { values: Float32Array }[]) => {
      const all = new Float32Array(slot.buffer, slot.byteOffset + 12, d);
      let at = 0;
      return u.map((t) => {
        all.set(t.values, at);
        at += t.values.length;
        return { values: all.subarray(at - t.values.length, at) };
      });
    };
    const upload = (u: readonly { values: Float32Array }[]) => {
      const staged = new Uint8Array(bytes);
      put(staged, u);
      return staged;
    };
    const normCalls = () => helper.calls.filter((c) => c === 'norm_blocks').length;
    for (const tau of [1, 3]) {
      const ref = new RefContribution(shape, grid);
      const norms = updates.map((u) => {
        const { delta, norm } = refUpdateDelta(u, global, tau);
        ref.addDelta(delta, norm);
        return norm;
      });
      // Chunks of 1,000 bytes (values split across chunks), of 256 KiB (the server's), and one
      // piece (five blocks at once: split with the helper).
      for (const chunk of [1000, 256 * 1024, bytes]) {
        const fast = new GridContribution(shape, grid);
        updates.forEach((u, j) => {
          const slot = fast.uploadBuffer(bytes)!;
          const staged = upload(u);
          for (let at = 0; at < bytes; at += chunk) {
            const end = Math.min(bytes, at + chunk);
            slot.set(staged.subarray(at, end), at);
            fast.arrived(slot, end, global, tau);
          }
          const before = normCalls();
          const update = put(slot, u);
          expect(fast.addUpdate(update, global, tau), `chunks of ${chunk}, update ${j}`).toBe(norms[j]);
          // No norm pass at add(): it ran as the bytes arrived.
          expect(normCalls()).toBe(before);
          fast.releaseBuffer(slot);
        });
        expectSame(fast, ref);
        fast.clear();
      }
    }
    // Not used: an arrival for another τ, one for bytes that had not all arrived, and one from
    // before the slot was given back and taken again (with other bytes).
    const ref = new RefContribution(shape, grid);
    const fast = new GridContribution(shape, grid);
    const add = (u: readonly { values: Float32Array }[], report: (slot: Uint8Array) => void) => {
      const slot = fast.uploadBuffer(bytes)!;
      const update = put(slot, u);
      report(slot);
      const before = normCalls();
      const { delta, norm } = refUpdateDelta(u, global, 3);
      ref.addDelta(delta, norm);
      expect(fast.addUpdate(update, global, 3)).toBe(norm);
      expect(normCalls()).toBe(before + 1);
      return slot;
    };
    fast.releaseBuffer(add(updates[0]!, (slot) => fast.arrived(slot, bytes, global, 1)));
    fast.releaseBuffer(add(updates[1]!, (slot) => fast.arrived(slot, bytes - 4, global, 3)));
    const first = fast.uploadBuffer(bytes)!;
    put(first, updates[2]!);
    fast.arrived(first, bytes, global, 3);
    fast.releaseBuffer(first);
    const again = add(updates[1]!, () => {});
    expect(again.byteOffset).toBe(first.byteOffset);
    expectSame(fast, ref);
  });
});

describe('a helper thread that fails', () => {
  afterAll(() => setGridHelper(null));

  it('in the norm pass: the update is refused and nothing changed; in an encode pass: the sums are never read again', () => {
    const sizes = [300_000];
    const shape: ContributionShape = { sizes, probe: false, countUnclipped: false, normSum: false };
    const grid = gridFor(0.05, 300_000);
    const rand = seeded(59);
    const global = [{ values: Float32Array.from({ length: 300_000 }, () => rand() - 0.5) }];
    const failing = (pass: 'norm_blocks' | 'grid_add'): GridHelper => {
      const inner = new InlineHelper();
      return {
        attach: (module, memory) => inner.attach(module, memory),
        start: (name, args) => inner.start(name, args),
        finish: () => {
          const r = inner.finish(); // the helper's half may have run before it failed
          if (inner.calls.at(-1) === pass) throw new Error('the helper thread stopped');
          return r;
        },
      };
    };
    for (const pass of ['norm_blocks', 'grid_add'] as const) {
      setGridHelper(failing(pass));
      const fast = new GridContribution(shape, grid);
      const put = () => {
        const bytes = fast.uploadBuffer(4 * 300_000)!;
        const values = new Float32Array(bytes.buffer, bytes.byteOffset, 300_000);
        values.set(global[0]!.values.map((x) => x + (rand() - 0.5) * 0.01));
        return [{ values }];
      };
      expect(() => fast.addUpdate(put(), global)).toThrow(/stopped/);
      if (pass === 'norm_blocks') {
        expect(fast.updates).toBe(0);
        expect(fast.sums[0]!.every((x) => x === 0)).toBe(true);
      } else {
        expect(() => fast.sums).toThrow(/incomplete/);
        expect(() => fast.toFlat()).toThrow(/incomplete/);
        setGridHelper(null);
        expect(() => fast.addUpdate(put(), global)).toThrow(/incomplete/);
      }
    }
  });
});
