import { gridWasm, gridWasmShared } from './grid-wasm';

/**
 * The integer grid's two hot passes over one update (GridContribution.addUpdate), on flat
 * coordinates (the model's tensors one after another, as on the wire):
 *
 *   squares  Σ Δ_k², Δ = (u − g)/τ, per block of NORM_BLOCK flat coordinates in EIGHT running
 *            float64 sums, lane = flat index mod 8, each lane's terms added in index order, the
 *            lanes then combined as ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)); the blocks'
 *            values added in block order, one running sum. This is THE order of the clip norm
 *            everywhere (updateDelta, the server, a hospital under secure aggregation), so every
 *            path gets the same bits; eight independent sums let the pass run at memory speed
 *            where one running sum waits on the one before, and the blocks let two threads take
 *            halves of the pass and still give those bits.
 *   encode   x_k = trunc(Δ_k·factor) added to (or taken back from, or only squared against) int32
 *            sums; returns Σ x_k², exact.
 *
 * Two implementations compute exactly the same thing: a small WebAssembly SIMD module
 * (native/grid.c, embedded by scripts/build-native.sh) where the engine runs it, and JS loops
 * (always there; `setGridKernelsMode('js')` selects them for tests and comparisons).
 *
 * Why the WebAssembly gives the JS bits: float32 → float64 is exact; every other step is one IEEE
 * double operation (sub, div, mul, trunc) in the JS order (no fused multiply-add: plain wasm SIMD
 * has none); the squares of the integers x_k are integers below 2^46 whose partial sums stay exact
 * integers below 2^53 in any order (and a total that passes 2^53 was past the check's limit
 * ≤ 2^44 already, which rounding cannot undo: it is monotone); int32 sums wrap in both (JS:
 * ToInt32 of an exact double sum), so an add taken back is undone exactly whatever it did.
 */

export type GridKernelsMode = 'auto' | 'js';
let mode: GridKernelsMode = 'auto';

/** 'auto' (default): the WebAssembly kernels where the engine runs them; 'js': the JS loops. */
export function setGridKernelsMode(next: GridKernelsMode): void {
  mode = next;
}

/** Which kernels a new contribution's passes use under the current mode on this engine. */
export function gridKernelsInUse(): 'wasm-simd' | 'js' {
  return mode === 'auto' && compiled() ? 'wasm-simd' : 'js';
}

interface GridExports {
  norm_lanes(u: number, g: number, n: number, phase: number, divide: number, tau: number, lanes: number): void;
  norm_blocks(u: number, g: number, n: number, block: number, divide: number, tau: number, lanes: number, out: number): void;
  grid_add(sum: number, u: number, g: number, n: number, divide: number, tau: number, factor: number, mode: number): number;
}

/** Flat coordinates per block of the norm's sum (a multiple of 8 and of the copy-in BLOCK). */
export const NORM_BLOCK = 65536;

const modules: { plain?: WebAssembly.Module | null; shared?: WebAssembly.Module | null } = {};
function compiled(kind: 'plain' | 'shared' = 'plain'): WebAssembly.Module | null {
  if (modules[kind] !== undefined) return modules[kind]!;
  try {
    const text = atob(kind === 'plain' ? gridWasm : gridWasmShared);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    // 3 KB: synchronous compilation is allowed everywhere, the browser's main thread included.
    modules[kind] = new WebAssembly.Module(bytes);
  } catch {
    // No WebAssembly, no SIMD (no threads, for the shared one), or a page policy that forbids
    // compiling it: the JS loops (one thread).
    modules[kind] = null;
  }
  return modules[kind]!;
}

/**
 * A second thread for the WebAssembly passes, where the platform has one to give (the server:
 * server/src/dp/grid-helper.ts; this package itself starts no threads). A pass over a large update
 * that lives in the kernels' memory is then split: the caller takes the first half, the helper the
 * second, on a shared memory; the result is the same bits as one thread's (the norm by blocks,
 * summed in block order; the grid's sums per coordinate, its Σ x² exact).
 */
export interface GridHelper {
  /** Instantiates `module` on `memory` in the helper thread; later calls run there. */
  attach(module: WebAssembly.Module, memory: WebAssembly.Memory): void;
  /** Starts the export `name` with `args` in the helper thread; returns at once. */
  start(name: 'norm_blocks' | 'grid_add', args: readonly number[]): void;
  /** Waits for the call `start` began and returns its result; throws when it failed. */
  finish(): number;
}
let helper: GridHelper | null = null;
/** The memory the helper was attached to last. */
let attached: WebAssembly.Memory | null = null;

/** Uses `next` (null: none) for the passes of contributions made from now on. */
export function setGridHelper(next: GridHelper | null): void {
  helper = next;
  attached = null;
}

/** Updates smaller than this (flat coordinates) are not split: the hand-over would cost more than it saves. */
const SPLIT_MIN = 1 << 18;
/**
 * How many values at the end of each thread's range the encode pass takes first: a norm pass at
 * add() read that end last (one taken as the upload arrived read the update's end last: the
 * helper's range), so a last-level cache still holds part of it (3·2²⁰ values: 24 MiB of update and
 * model per thread, for this host's 32 MiB; elsewhere it costs one more call per thread). Measured
 * at 10M parameters: add() at a median of 6.0 GB/s of update bytes over seven runs (5.0–6.7)
 * against 4.8 over ten (4.4–6.0) in the plain order, alternating
 * (`npm run bench:aggregate -- --d 10000000 --m 10 --reps 9 --only copy,dp-slot`).
 */
const ROTATE = 3 * 2 ** 20;
let rotate = ROTATE;

/**
 * Tests: how many values each thread's encode pass takes first from its range's end (0: none;
 * null: the default, ROTATE).
 */
export function setEncodeRotationForTests(values: number | null): void {
  rotate = values === null ? ROTATE : Math.max(0, Math.floor(values));
}

/** The combination of the eight lanes, in its one fixed order. */
export function combineLanes(l: ArrayLike<number>): number {
  return l[0]! + l[1]! + (l[2]! + l[3]!) + (l[4]! + l[5]! + (l[6]! + l[7]!));
}

/**
 * The clip norm's Σ Δ_k² (see the file comment), fed in order, a piece at a time: `add(n, pass)`
 * calls pass(lanes, from, count, phase) for consecutive pieces [from, from + count) of the next n
 * coordinates that each lie within one block (phase = the flat index of `from`, mod 8), and closes
 * every block it completes.
 */
export class NormSquares {
  private total = 0;
  private flat = 0;

  /** `lanes`: the eight running sums (zeroed here), e.g. a view into the kernels' memory. */
  constructor(private readonly lanes = new Float64Array(8)) {
    lanes.fill(0);
  }

  add(n: number, pass: (lanes: Float64Array, from: number, count: number, phase: number) => void): void {
    for (let from = 0; from < n; ) {
      const count = Math.min(NORM_BLOCK - (this.flat % NORM_BLOCK), n - from);
      pass(this.lanes, from, count, this.flat & 7);
      from += count;
      this.flat += count;
      if (this.flat % NORM_BLOCK === 0) this.closeBlock();
    }
  }

  /** Σ Δ_k² so far (the last block, when not complete, counted as it stands). */
  value(): number {
    return this.flat % NORM_BLOCK === 0 ? this.total : this.total + combineLanes(this.lanes);
  }

  private closeBlock(): void {
    this.total += combineLanes(this.lanes);
    this.lanes.fill(0);
  }
}

/** Σ Δ_k² of Δ = (u − g)/τ in the norm's order, with the JS loops. */
export function squaresJs(update: readonly { values: ArrayLike<number> }[], global: readonly { values: ArrayLike<number> }[], tau: number): number {
  const norm = new NormSquares();
  for (let i = 0; i < update.length; i++) {
    const u = update[i]!.values;
    const g = global[i]!.values;
    norm.add(u.length, (lanes, from, count, phase) => addLaneSquares(lanes, u, g, tau, phase, from, count));
  }
  return norm.value();
}

/**
 * lanes[(phase + k) mod 8] += Δ_k², Δ_k = (u_k − g_k)/τ (no division when τ = 1: x/1 is x), for
 * k in [from, from + count) in index order (phase: the lane of `from`): the JS twin of norm_lanes.
 */
export function addLaneSquares(lanes: Float64Array, u: ArrayLike<number>, g: ArrayLike<number>, tau: number, phase: number, from = 0, count = u.length - from): void {
  const n = from + count;
  let k = from;
  let lane = phase & 7;
  // Up to the next flat index ≡ 0 (mod 8), then eight at a time, then the rest.
  for (; k < n && lane !== 0; k++, lane = (lane + 1) & 7) {
    const d = (u[k]! - g[k]!) / tau;
    lanes[lane] = lanes[lane]! + d * d;
  }
  let l0 = lanes[0]!;
  let l1 = lanes[1]!;
  let l2 = lanes[2]!;
  let l3 = lanes[3]!;
  let l4 = lanes[4]!;
  let l5 = lanes[5]!;
  let l6 = lanes[6]!;
  let l7 = lanes[7]!;
  if (tau === 1) {
    // x/1 is x: the division is skipped, not changed.
    for (; k + 7 < n; k += 8) {
      const d0 = u[k]! - g[k]!;
      const d1 = u[k + 1]! - g[k + 1]!;
      const d2 = u[k + 2]! - g[k + 2]!;
      const d3 = u[k + 3]! - g[k + 3]!;
      const d4 = u[k + 4]! - g[k + 4]!;
      const d5 = u[k + 5]! - g[k + 5]!;
      const d6 = u[k + 6]! - g[k + 6]!;
      const d7 = u[k + 7]! - g[k + 7]!;
      l0 += d0 * d0;
      l1 += d1 * d1;
      l2 += d2 * d2;
      l3 += d3 * d3;
      l4 += d4 * d4;
      l5 += d5 * d5;
      l6 += d6 * d6;
      l7 += d7 * d7;
    }
  } else {
    for (; k + 7 < n; k += 8) {
      const d0 = (u[k]! - g[k]!) / tau;
      const d1 = (u[k + 1]! - g[k + 1]!) / tau;
      const d2 = (u[k + 2]! - g[k + 2]!) / tau;
      const d3 = (u[k + 3]! - g[k + 3]!) / tau;
      const d4 = (u[k + 4]! - g[k + 4]!) / tau;
      const d5 = (u[k + 5]! - g[k + 5]!) / tau;
      const d6 = (u[k + 6]! - g[k + 6]!) / tau;
      const d7 = (u[k + 7]! - g[k + 7]!) / tau;
      l0 += d0 * d0;
      l1 += d1 * d1;
      l2 += d2 * d2;
      l3 += d3 * d3;
      l4 += d4 * d4;
      l5 += d5 * d5;
      l6 += d6 * d6;
      l7 += d7 * d7;
    }
  }
  lanes[0] = l0;
  lanes[1] = l1;
  lanes[2] = l2;
  lanes[3] = l3;
  lanes[4] = l4;
  lanes[5] = l5;
  lanes[6] = l6;
  lanes[7] = l7;
  for (lane = 0; k < n; k++, lane++) {
    const d = (u[k]! - g[k]!) / tau;
    lanes[lane] = lanes[lane]! + d * d;
  }
}

/**
 * x_k = trunc(((u_k − g_k)/τ)·factor) over one tensor; mode 1: sum += x, −1: sum −= x (int32,
 * wrapping), 0: nothing added. Returns Σ x_k². The JS twin of grid_add.
 */
export function encodeJs(sum: Int32Array, at: number, u: Float32Array, g: Float32Array, tau: number, factor: number, mode: 1 | -1 | 0): number {
  const n = u.length;
  let s0 = 0;
  let s1 = 0;
  let k = 0;
  if (mode === 1 && tau === 1) {
    // x/1 is x: the division is skipped, not changed.
    for (; k + 1 < n; k += 2) {
      const x0 = Math.trunc((u[k]! - g[k]!) * factor);
      const x1 = Math.trunc((u[k + 1]! - g[k + 1]!) * factor);
      sum[at + k] = sum[at + k]! + x0;
      sum[at + k + 1] = sum[at + k + 1]! + x1;
      s0 += x0 * x0;
      s1 += x1 * x1;
    }
  } else if (mode === 1) {
    for (; k + 1 < n; k += 2) {
      const x0 = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
      const x1 = Math.trunc(((u[k + 1]! - g[k + 1]!) / tau) * factor);
      sum[at + k] = sum[at + k]! + x0;
      sum[at + k + 1] = sum[at + k + 1]! + x1;
      s0 += x0 * x0;
      s1 += x1 * x1;
    }
  } else if (mode === -1) {
    for (; k + 1 < n; k += 2) {
      const x0 = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
      const x1 = Math.trunc(((u[k + 1]! - g[k + 1]!) / tau) * factor);
      sum[at + k] = sum[at + k]! - x0;
      sum[at + k + 1] = sum[at + k + 1]! - x1;
      s0 += x0 * x0;
      s1 += x1 * x1;
    }
  } else {
    for (; k + 1 < n; k += 2) {
      const x0 = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
      const x1 = Math.trunc(((u[k + 1]! - g[k + 1]!) / tau) * factor);
      s0 += x0 * x0;
      s1 += x1 * x1;
    }
  }
  for (; k < n; k++) {
    const x = Math.trunc(((u[k]! - g[k]!) / tau) * factor);
    if (mode !== 0) sum[at + k] = sum[at + k]! + mode * x;
    s0 += x * x;
  }
  return s0 + s1;
}

/** Floats per block copied into the module's memory (64 KiB: stays in the core's L2). */
const BLOCK = 16384;
/** Byte offsets: the caller's eight lanes, the helper's, the copy-in block. */
const LANES = 0;
const HELPER_LANES = 64;
const SCRATCH = 128;
const PAGE = 65536;
/** A shared memory's most pages (4 GiB, wasm32's whole range: address space, not memory). */
const SHARED_MAXIMUM = 65536;
const pagesFor = (bytes: number) => Math.ceil(bytes / PAGE);
const align64 = (bytes: number) => Math.ceil(bytes / 64) * 64;

const sameArrays = (a: readonly Float32Array[], b: readonly Float32Array[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** The norm's blocks of one upload, taken as its bytes arrived (GridWasm.arrived). */
interface Arrival {
  tau: number;
  /** The model arrays they were taken against (compared by identity). */
  global: readonly Float32Array[];
  /** The value of each norm block, those before `taken` filled. */
  blocks: Float64Array;
  taken: number;
}

/** Byte offset of a valid upload's values in a slot: its last 4·d bytes. */
const valuesAt = (slot: number, bytes: number, dimension: number) => slot + bytes - 4 * dimension;

/** Upload slots reserved at once (pages never written cost no memory). */
const SLOTS = 4;

/**
 * A contribution's WebAssembly side: one memory with, in order, two sets of eight lanes, a scratch
 * block for update values copied in, the norm's block values, the int32 sums, a copy of the model
 * the updates started from, and slots for uploads. An update whose values live in this memory one
 * tensor after another (a slot: the server assembles uploads there) is read in place, its passes
 * split with the helper thread where there is one (the memory is then shared); any other is copied
 * in one block at a time.
 *
 * The memory grows only while no slot is handed out (growing a plain memory detaches every view of
 * it): a view handed out stays valid for as long as its holder keeps it.
 */
export class GridWasm {
  /** The one retired GridWasm kept for reuse (see `create`). */
  private static retired: GridWasm | null = null;
  readonly memory: WebAssembly.Memory;
  private readonly k: GridExports;
  /** Byte offset of the norm's block values. */
  private readonly blocksAt: number;
  /** Byte offset of the int32 sums. */
  readonly sumsAt: number;
  private readonly globalAt: number;
  /** The model arrays the copy was taken from (compared by identity). */
  private globalOf: readonly Float32Array[] | null = null;
  private next: number;
  private readonly free: { at: number; bytes: number }[] = [];
  /** The slots handed out, by offset. */
  private readonly taken = new Set<number>();
  /** The norm's blocks of uploads taken as their bytes arrived, by the byte offset of their values. */
  private readonly arrivals = new Map<number, Arrival>();

  private constructor(
    readonly dimension: number,
    private readonly mod: WebAssembly.Module,
    /** Shared with the helper thread (null: one thread). */
    private readonly helper: GridHelper | null,
  ) {
    this.blocksAt = align64(SCRATCH + 4 * BLOCK);
    this.sumsAt = align64(this.blocksAt + 8 * Math.ceil(dimension / NORM_BLOCK));
    this.globalAt = this.sumsAt + 4 * dimension;
    this.next = align64(this.globalAt + 4 * dimension);
    const initial = pagesFor(this.next);
    this.memory = new WebAssembly.Memory(helper ? { initial, maximum: SHARED_MAXIMUM, shared: true } : { initial });
    this.k = new WebAssembly.Instance(mod, { env: { memory: this.memory } }).exports as unknown as GridExports;
  }

  /**
   * One for a model of `dimension` values, or null where the kernels cannot run (then the JS loops
   * do): the one a contribution of that size retired, if any (its pages are already in memory:
   * a server's next round does not fault in the sums, the model's copy and the upload slots
   * again), else a new one; on a shared memory when a helper thread is set (setGridHelper).
   */
  static create(dimension: number): GridWasm | null {
    const plain = gridKernelsInUse() === 'wasm-simd' ? compiled() : null;
    if (!plain) return null;
    const reused = GridWasm.retired;
    if (reused?.dimension === dimension && reused.helper === helper) {
      GridWasm.retired = null;
      reused.sums().fill(0);
      return reused;
    }
    const shared = helper ? compiled('shared') : null;
    try {
      if (shared) return new GridWasm(dimension, shared, helper);
    } catch {
      // No shared memory here (e.g. no SharedArrayBuffer): one thread.
    }
    try {
      return new GridWasm(dimension, plain, null);
    } catch {
      return null; // e.g. a model past wasm32's 4 GiB
    }
  }

  /**
   * Its contribution is done with it: kept for the next one of the same size (one is kept in all),
   * unless a slot is still held (a holder may still read it, so it must never be handed out again).
   */
  retire(): void {
    if (this.taken.size > 0) return;
    this.globalOf = null;
    this.arrivals.clear();
    GridWasm.retired = this;
  }

  /** The int32 sums (a fresh view: the memory may have grown since the last one). */
  sums(): Int32Array {
    return new Int32Array(this.memory.buffer, this.sumsAt, this.dimension);
  }

  /**
   * `bytes` bytes of this memory for an upload to be assembled in, so that its values are read
   * in place; null when every slot of that size is in use and the memory cannot grow (then the
   * caller takes a plain buffer: the values are copied in, with the same result).
   */
  alloc(bytes: number): Uint8Array | null {
    // The slot given back last first: its pages are warm.
    let i = this.free.findLastIndex((f) => f.bytes === bytes);
    if (i < 0) {
      if (this.taken.size > 0) return null;
      const size = align64(bytes);
      const end = this.next + SLOTS * size;
      const have = this.memory.buffer.byteLength;
      try {
        if (end > have) this.memory.grow(pagesFor(end - have));
      } catch {
        return null;
      }
      for (let s = 0; s < SLOTS; s++) this.free.push({ at: this.next + s * size, bytes });
      this.next = end;
      i = this.free.length - 1;
    }
    const { at } = this.free.splice(i, 1)[0]!;
    this.taken.add(at);
    return new Uint8Array(this.memory.buffer, at, bytes);
  }

  /** Gives back what `alloc` returned, once nothing decoded from it is in use. */
  release(view: Uint8Array): void {
    if (view.buffer !== this.memory.buffer || !this.taken.delete(view.byteOffset)) return;
    this.arrivals.delete(valuesAt(view.byteOffset, view.byteLength, this.dimension));
    this.free.push({ at: view.byteOffset, bytes: view.byteLength });
  }

  /**
   * The norm pass of an upload assembled in the slot `view`, taken as its bytes arrive: the first
   * `received` bytes of the slot are final (written once, in order, never again while the slot is
   * held). Every norm block whose values have all arrived, and that was not taken yet, is taken now,
   * while the bytes just written are still in cache; `squares` then only adds the blocks' values.
   * The values are where a valid upload has them, its last 4·d bytes (an upload whose header says
   * otherwise is refused before any add). A call that cannot help (another memory, a slot not held,
   * a pass that failed) forgets what this slot had: `squares` then takes the whole pass itself.
   */
  arrived(view: Uint8Array, received: number, global: readonly Float32Array[], tau: number): void {
    const d = this.dimension;
    const u = valuesAt(view.byteOffset, view.byteLength, d);
    if (view.buffer !== this.memory.buffer || !this.taken.has(view.byteOffset) || u < view.byteOffset || u % 4 !== 0) return;
    let arrival = this.arrivals.get(u);
    if (!arrival || arrival.tau !== tau || !sameArrays(arrival.global, global)) {
      arrival = { tau, global: global.slice(), blocks: new Float64Array(Math.ceil(d / NORM_BLOCK)), taken: 0 };
      this.arrivals.set(u, arrival);
    }
    const values = Math.min(d, Math.max(0, Math.floor((view.byteOffset + received - u) / 4)));
    const upTo = values === d ? arrival.blocks.length : Math.floor(values / NORM_BLOCK);
    if (upTo <= arrival.taken) return;
    try {
      this.blockValues(u, this.globalCopy(global), arrival.taken, upTo, tau);
      arrival.blocks.set(new Float64Array(this.memory.buffer, this.blocksAt + 8 * arrival.taken, upTo - arrival.taken), arrival.taken);
      arrival.taken = upTo;
    } catch {
      this.arrivals.delete(u);
    }
  }

  /** The model's copy in this memory: taken once, again only when other arrays are passed. */
  private globalCopy(global: readonly Float32Array[]): number {
    if (!this.globalOf || !sameArrays(this.globalOf, global)) {
      const copy = new Float32Array(this.memory.buffer, this.globalAt, this.dimension);
      let at = 0;
      for (const g of global) {
        copy.set(g, at);
        at += g.length;
      }
      this.globalOf = global.slice();
    }
    return this.globalAt;
  }

  /** Byte offset of the update's values when they lie in this memory one tensor after another; else −1. */
  private inPlace(update: readonly Float32Array[]): number {
    const buffer = this.memory.buffer;
    const first = update[0];
    if (!first || first.buffer !== buffer || first.byteOffset % 4 !== 0) return -1;
    let at = first.byteOffset;
    for (const u of update) {
      if (u.buffer !== buffer || u.byteOffset !== at) return -1;
      at += 4 * u.length;
    }
    return first.byteOffset;
  }

  /** The helper for a pass over `n` values (attached to this memory), or null: one thread. */
  private helperFor(n: number): GridHelper | null {
    if (!this.helper || this.helper !== helper || n < SPLIT_MIN) return null;
    if (attached !== this.memory) {
      this.helper.attach(this.mod, this.memory);
      attached = this.memory;
    }
    return this.helper;
  }

  /** Calls `fn(ptr, n, flat)` over the update's blocks, copied into the scratch block. */
  private copiedIn(update: readonly Float32Array[], fn: (u: number, n: number, flat: number) => void): void {
    let flat = 0;
    for (const u of update) {
      const scratch = new Float32Array(this.memory.buffer, SCRATCH, BLOCK);
      for (let at = 0; at < u.length; at += BLOCK) {
        const n = Math.min(BLOCK, u.length - at);
        scratch.set(n === u.length ? u : u.subarray(at, at + n));
        fn(SCRATCH, n, flat + at);
      }
      flat += u.length;
    }
  }

  /** Σ Δ_k² in the norm's order (see the file comment). */
  squares(update: readonly Float32Array[], global: readonly Float32Array[], tau: number): number {
    const g = this.globalCopy(global);
    const divide = tau === 1 ? 0 : 1;
    const u = this.inPlace(update);
    if (u < 0) {
      const norm = new NormSquares(new Float64Array(this.memory.buffer, LANES, 8));
      this.copiedIn(update, (at, n, flat) =>
        norm.add(n, (_, from, count, phase) => this.k.norm_lanes(at + 4 * from, g + 4 * (flat + from), count, phase, divide, tau, LANES)),
      );
      return norm.value();
    }
    // In place: every block's value (taken as the upload arrived, or now), then their sum in
    // block order.
    const blocks = Math.ceil(this.dimension / NORM_BLOCK);
    const arrival = this.arrivals.get(u);
    let values: Float64Array;
    if (arrival && arrival.taken === blocks && arrival.tau === tau && sameArrays(arrival.global, global)) values = arrival.blocks;
    else {
      this.blockValues(u, g, 0, blocks, tau);
      values = new Float64Array(this.memory.buffer, this.blocksAt, blocks);
    }
    let total = 0;
    for (let b = 0; b < blocks; b++) total += values[b]!;
    return total;
  }

  /**
   * The values of norm blocks [from, to) of the update at byte offset `u` against the model's copy
   * at `g`, into the block values at the same indices; the second half of the blocks in the helper
   * thread when there are enough.
   */
  private blockValues(u: number, g: number, from: number, to: number, tau: number): void {
    const divide = tau === 1 ? 0 : 1;
    const start = from * NORM_BLOCK;
    const end = Math.min(this.dimension, to * NORM_BLOCK);
    const other = this.helperFor(end - start);
    const mid = other ? Math.min(end, (from + Math.ceil((to - from) / 2)) * NORM_BLOCK) : end;
    if (other) other.start('norm_blocks', [u + 4 * mid, g + 4 * mid, end - mid, NORM_BLOCK, divide, tau, HELPER_LANES, this.blocksAt + 8 * (mid / NORM_BLOCK)]);
    try {
      this.k.norm_blocks(u + 4 * start, g + 4 * start, mid - start, NORM_BLOCK, divide, tau, LANES, this.blocksAt + 8 * from);
    } finally {
      other?.finish();
    }
  }

  /** The encode pass (mode 1 add, −1 take back, 0 squares only); returns Σ x_k². */
  encode(update: readonly Float32Array[], global: readonly Float32Array[], tau: number, factor: number, mode: 1 | -1 | 0): number {
    const g = this.globalCopy(global);
    const divide = tau === 1 ? 0 : 1;
    const u = this.inPlace(update);
    let squares = 0;
    if (u < 0) {
      this.copiedIn(update, (at, n, flat) => {
        squares += this.k.grid_add(this.sumsAt + 4 * flat, at, g + 4 * flat, n, divide, tau, factor, mode);
      });
      return squares;
    }
    // In place: the second half in the helper thread (the sums are per coordinate, Σ x² exact),
    // each half from its last `rotate` values, then from its start.
    const d = this.dimension;
    const other = this.helperFor(d);
    const mine = other ? Math.ceil(d / 32) * 16 : d;
    const ranges = (from: number, to: number): Array<[number, number]> => {
      const tail = Math.min(to - from, rotate) & ~15;
      return tail > 0 && to - tail > from ? [[to - tail, to], [from, to - tail]] : [[from, to]];
    };
    const own = ranges(0, mine);
    const theirs = other ? ranges(mine, d) : [];
    for (let i = 0; i < Math.max(own.length, theirs.length); i++) {
      const [t, o] = [theirs[i], own[i]];
      if (t) other!.start('grid_add', [this.sumsAt + 4 * t[0], u + 4 * t[0], g + 4 * t[0], t[1] - t[0], divide, tau, factor, mode]);
      if (o) squares += this.k.grid_add(this.sumsAt + 4 * o[0], u + 4 * o[0], g + 4 * o[0], o[1] - o[0], divide, tau, factor, mode);
      if (t) squares += other!.finish();
    }
    return squares;
  }
}
