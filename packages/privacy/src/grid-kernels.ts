import { gridWasm } from './grid-wasm';

/**
 * The integer grid's two hot passes over one update (GridContribution.addUpdate), on flat
 * coordinates (the model's tensors one after another, as on the wire):
 *
 *   squares  Σ Δ_k², Δ = (u − g)/τ, in EIGHT running float64 sums, lane = flat index mod 8, each
 *            lane's terms added in index order, the lanes then combined as
 *            ((l0 + l1) + (l2 + l3)) + ((l4 + l5) + (l6 + l7)). This is THE order of the clip norm
 *            everywhere (updateDelta, the server, a hospital under secure aggregation), so every
 *            path gets the same bits; eight independent sums let the pass run at memory speed
 *            where one running sum waits on the one before.
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
  grid_add(sum: number, u: number, g: number, n: number, divide: number, tau: number, factor: number, mode: number): number;
}

let module: WebAssembly.Module | null | undefined;
function compiled(): WebAssembly.Module | null {
  if (module !== undefined) return module;
  try {
    const text = atob(gridWasm);
    const bytes = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
    // 3 KB: synchronous compilation is allowed everywhere, the browser's main thread included.
    module = new WebAssembly.Module(bytes);
  } catch {
    // No WebAssembly, no SIMD, or a page policy that forbids compiling it: the JS loops.
    module = null;
  }
  return module;
}

/** The combination of the eight lanes, in its one fixed order. */
export function combineLanes(l: ArrayLike<number>): number {
  return l[0]! + l[1]! + (l[2]! + l[3]!) + (l[4]! + l[5]! + (l[6]! + l[7]!));
}

/**
 * lanes[(phase + k) mod 8] += Δ_k², Δ_k = (u_k − g_k)/τ (no division when τ = 1: x/1 is x), k in
 * index order: the JS twin of norm_lanes, and what updateDelta uses.
 */
export function addLaneSquares(lanes: Float64Array, u: ArrayLike<number>, g: ArrayLike<number>, tau: number, phase: number): void {
  const n = u.length;
  let k = 0;
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
const LANES = 0;
const SCRATCH = 64;
const PAGE = 65536;
const pagesFor = (bytes: number) => Math.ceil(bytes / PAGE);

/** The norm pass over an upload slot so far. */
interface Track {
  /** Byte offset of the values in the memory; −1: the header has not arrived, −2: not an update's layout. */
  payload: number;
  /** Values passed so far. */
  floats: number;
  lanes: Float64Array;
  /** The model the norm is taken against (null: not tracked). */
  model: readonly Float32Array[] | null;
}

const sameArrays = (a: readonly Float32Array[], b: readonly Float32Array[]) => a.length === b.length && a.every((x, i) => x === b[i]);

/** Upload slots reserved at once (pages never written cost no memory). */
const SLOTS = 4;

/**
 * A contribution's WebAssembly side: one memory with, in order, the eight lanes, a scratch block
 * for update values copied in, the int32 sums, a copy of the model the updates started from, and
 * slots for uploads. An update whose values live in this memory (a slot: the server assembles
 * uploads there) is read in place; any other is copied in one block at a time.
 *
 * The memory grows only while no slot is handed out (growing detaches every view of it): a view
 * handed out stays valid for as long as its holder keeps it.
 */
export class GridWasm {
  /** The one retired GridWasm kept for reuse (see `create`). */
  private static retired: GridWasm | null = null;
  readonly memory: WebAssembly.Memory;
  private readonly k: GridExports;
  /** Byte offset of the int32 sums. */
  readonly sumsAt: number;
  private readonly globalAt: number;
  /** The model arrays the copy was taken from (compared by identity). */
  private globalOf: readonly Float32Array[] | null = null;
  private next: number;
  private readonly free: { at: number; bytes: number }[] = [];
  /** The slots handed out, by offset, with the norm pass over what has arrived in them so far. */
  private readonly taken = new Map<number, Track>();

  private constructor(
    readonly dimension: number,
    mod: WebAssembly.Module,
  ) {
    this.sumsAt = Math.ceil((SCRATCH + 4 * BLOCK) / 64) * 64;
    this.globalAt = this.sumsAt + 4 * dimension;
    this.next = this.globalAt + 4 * dimension;
    this.memory = new WebAssembly.Memory({ initial: pagesFor(this.next) });
    this.k = new WebAssembly.Instance(mod, { env: { memory: this.memory } }).exports as unknown as GridExports;
  }

  /**
   * One for a model of `dimension` values, or null where the kernels cannot run (then the JS loops
   * do): the one a contribution of that size retired, if any (its pages are already in memory:
   * a server's next round does not fault in the sums, the model's copy and the upload slots
   * again), else a new one.
   */
  static create(dimension: number): GridWasm | null {
    const mod = gridKernelsInUse() === 'wasm-simd' ? compiled() : null;
    if (!mod) return null;
    const reused = GridWasm.retired;
    if (reused?.dimension === dimension) {
      GridWasm.retired = null;
      reused.sums().fill(0);
      return reused;
    }
    try {
      return new GridWasm(dimension, mod);
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
    GridWasm.retired = this;
  }

  /** The int32 sums (a fresh view: the memory may have grown since the last one). */
  sums(): Int32Array {
    return new Int32Array(this.memory.buffer, this.sumsAt, this.dimension);
  }

  /**
   * `bytes` bytes of this memory for an upload to be assembled in, so that its values are read
   * in place; null when every slot of that size is in use and the memory cannot grow (then the
   * caller takes a plain buffer: the values are copied in, with the same result). With `global`
   * (the model the update starts from), the norm pass runs as the bytes arrive (`filled`).
   */
  alloc(bytes: number, global: readonly Float32Array[] | null = null): Uint8Array | null {
    // The slot given back last first: its pages are warm.
    let i = this.free.findLastIndex((f) => f.bytes === bytes);
    if (i < 0) {
      if (this.taken.size > 0) return null;
      const size = Math.ceil(bytes / 64) * 64;
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
    if (global) this.globalCopy(global);
    this.taken.set(at, { payload: -1, floats: 0, lanes: new Float64Array(8), model: global && global.slice() });
    return new Uint8Array(this.memory.buffer, at, bytes);
  }

  /** Gives back what `alloc` returned, once nothing decoded from it is in use. */
  release(view: Uint8Array): void {
    if (view.buffer !== this.memory.buffer || !this.taken.delete(view.byteOffset)) return;
    this.free.push({ at: view.byteOffset, bytes: view.byteLength });
  }

  /**
   * Bytes [0, upTo) of a slot are in place (and will not change): the norm pass goes on over the
   * update values among them, while they are still in the core's cache. The values are found as
   * the weights codec lays them out (8 bytes, a header of the length the bytes 4–8 give, padded to
   * 4, then d float32); a slot whose length does not fit that layout is left to add().
   */
  filled(view: Uint8Array, upTo: number): void {
    const t = view.buffer === this.memory.buffer ? this.taken.get(view.byteOffset) : undefined;
    if (!t?.model || t.payload === -2) return;
    const at = view.byteOffset;
    if (t.payload === -1) {
      if (upTo < 8) return;
      const offset = Math.ceil((8 + new DataView(this.memory.buffer, at + 4, 4).getUint32(0, true)) / 4) * 4;
      t.payload = offset + 4 * this.dimension === view.byteLength ? at + offset : -2;
      if (t.payload < 0) return;
    }
    const ready = Math.min(this.dimension, Math.floor((at + upTo - t.payload) / 4));
    if (ready <= t.floats) return;
    const g = this.globalCopy(t.model);
    const lanes = new Float64Array(this.memory.buffer, LANES, 8);
    lanes.set(t.lanes);
    this.k.norm_lanes(t.payload + 4 * t.floats, g + 4 * t.floats, ready - t.floats, t.floats & 7, 0, 1, LANES);
    t.lanes.set(lanes);
    t.floats = ready;
  }

  /**
   * Σ Δ_k² of an update whose values are exactly a slot's values, every one of them passed by
   * `filled` against this `global` (τ = 1: the pass divides by nothing); else null.
   */
  trackedSquares(update: readonly Float32Array[], global: readonly Float32Array[], tau: number): number | null {
    const buffer = this.memory.buffer;
    const first = update[0];
    if (tau !== 1 || !first || first.buffer !== buffer) return null;
    for (const t of this.taken.values()) {
      if (t.payload !== first.byteOffset) continue;
      if (t.floats !== this.dimension || !t.model || !sameArrays(t.model, global)) return null;
      let flat = 0;
      for (const u of update) {
        if (u.buffer !== buffer || u.byteOffset !== t.payload + 4 * flat) return null;
        flat += u.length;
      }
      return flat === this.dimension ? combineLanes(t.lanes) : null;
    }
    return null;
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

  /** Calls `fn(ptr, n, flat)` over the update's blocks: in place when it lives here, else copied in. */
  private blocks(update: readonly Float32Array[], fn: (u: number, n: number, flat: number) => void): void {
    const buffer = this.memory.buffer;
    let flat = 0;
    for (const u of update) {
      if (u.buffer === buffer && u.byteOffset % 4 === 0) fn(u.byteOffset, u.length, flat);
      else {
        const scratch = new Float32Array(buffer, SCRATCH, BLOCK);
        for (let at = 0; at < u.length; at += BLOCK) {
          const n = Math.min(BLOCK, u.length - at);
          scratch.set(n === u.length ? u : u.subarray(at, at + n));
          fn(SCRATCH, n, flat + at);
        }
      }
      flat += u.length;
    }
  }

  /** Σ Δ_k² in the lane order (see the file comment). */
  squares(update: readonly Float32Array[], global: readonly Float32Array[], tau: number): number {
    const g = this.globalCopy(global);
    const lanes = new Float64Array(this.memory.buffer, LANES, 8);
    lanes.fill(0);
    const divide = tau === 1 ? 0 : 1;
    this.blocks(update, (u, n, flat) => this.k.norm_lanes(u, g + 4 * flat, n, flat & 7, divide, tau, LANES));
    return combineLanes(new Float64Array(this.memory.buffer, LANES, 8));
  }

  /** The encode pass (mode 1 add, −1 take back, 0 squares only); returns Σ x_k². */
  encode(update: readonly Float32Array[], global: readonly Float32Array[], tau: number, factor: number, mode: 1 | -1 | 0): number {
    const g = this.globalCopy(global);
    const divide = tau === 1 ? 0 : 1;
    let squares = 0;
    this.blocks(update, (u, n, flat) => {
      squares += this.k.grid_add(this.sumsAt + 4 * flat, u, g + 4 * flat, n, divide, tau, factor, mode);
    });
    return squares;
  }
}
