import { backend, getBackend } from '@tensorflow/tfjs';
import type { KernelBackend, TensorInfo } from '@tensorflow/tfjs';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import { kernelsWasmRelaxed, kernelsWasmSimd } from './kernels_wasm';
import { parallelParts, poolReady, runChunked, setKernelThreads, workerChunks } from './pool';
import type { ChunkedCall, PoolSite } from './pool';

export { chunkCount, chunkSize, setNativeSplitForTests } from './pool';
export type { ChunkedCall } from './pool';

/**
 * The package's own WebAssembly kernels (native/kernels.c), instantiated on
 * the wasm backend's linear memory so that they work on tensors in place:
 * every pointer argument is a byte offset into that memory. JS loops over
 * typed arrays run several times slower than the same loops compiled to wasm
 * SIMD, and these kernels are pure memory traffic.
 *
 * A few KB of code, compiled synchronously on first use (Chromium allows
 * synchronous compilation of modules this small on the main thread). Where
 * the module cannot be used (no wasm SIMD, memory not reachable), `native`
 * returns null and the kernels fall back to their JS loops.
 */
export interface NativeKernels {
  max_pool_grad(
    x: number, dy: number, dx: number, batch: number, height: number, width: number, channels: number,
    outHeight: number, outWidth: number, filterH: number, filterW: number, strideH: number, strideW: number,
    padTop: number, padLeft: number, positiveOnly: number,
  ): void;
  max_pool(
    x: number, y: number, batch: number, height: number, width: number, channels: number, outHeight: number,
    outWidth: number, filterH: number, filterW: number, strideH: number, strideW: number, padTop: number, padLeft: number,
  ): void;
  sum_rows(src: number, acc: number, rows: number, cols: number): void;
  conv2d(
    x: number, filter: number, y: number, batch: number, height: number, width: number, inChannels: number,
    outHeight: number, outWidth: number, outChannels: number, filterH: number, filterW: number,
    strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number,
    bias: number, tail: number,
  ): void;
  conv2d_filter_grad(
    x: number, dy: number, dw: number, batch: number, height: number, width: number, inChannels: number,
    outHeight: number, outWidth: number, outChannels: number, filterH: number, filterW: number,
    strideH: number, strideW: number, dilationH: number, dilationW: number, padTop: number, padLeft: number,
  ): void;
  conv2d_input_grad(
    dy: number, packedFilter: number, dx: number, batch: number, height: number, width: number, inChannels: number,
    outHeight: number, outWidth: number, outChannels: number, filterH: number, filterW: number,
    strideH: number, strideW: number, padTop: number, padLeft: number,
  ): void;
  conv2d_wino_filter_grad(
    x: number, dy: number, dw: number, batch: number, height: number, width: number, inChannels: number,
    outHeight: number, outWidth: number, outChannels: number, padTop: number, padLeft: number, scratch: number,
  ): void;
  wino_filter(filter: number, transformed: number, inChannels: number, outChannels: number, flip: number): void;
  conv2d_wino(
    x: number, transformed: number, y: number, batch: number, height: number, width: number, inChannels: number,
    outHeight: number, outWidth: number, outChannels: number, padTop: number, padLeft: number, bias: number,
    tail: number, scratch: number,
  ): void;
  gemm(a: number, rowStride: number, colStride: number, b: number, c: number, m: number, n: number, k: number): void;
  add_bias(x: number, bias: number, out: number, rows: number, cols: number): void;
  relu_grad(dy: number, x: number, dx: number, n: number): void;
  transpose2d(input: number, output: number, rows: number, cols: number): void;
  adam_update(
    p: number, g: number, m: number, v: number, vmax: number, pOut: number, mOut: number, vOut: number,
    vmaxOut: number, n: number, beta1: number, oneMinusBeta1: number, beta2: number, oneMinusBeta2: number,
    stepSize: number, invBc2Sqrt: number, epsilon: number,
  ): void;
}

interface EmscriptenModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
}

/**
 * 'auto': the relaxed-SIMD build where the engine validates it, else plain
 * SIMD; 'simd': plain SIMD only; 'off': the JS fallbacks.
 */
export type NativeKernelsMode = 'auto' | 'simd' | 'off';
export type NativeKernelsVariant = 'relaxed-simd' | 'simd';

let mode: NativeKernelsMode = 'auto';
const instances = new WeakMap<WebAssembly.Memory, Map<NativeKernelsVariant, NativeKernels | null>>();
const sites = new WeakMap<NativeKernels, PoolSite>();

/** Selects which kernels run, for tests and comparisons; 'auto' by default. */
export function setNativeKernelsMode(next: NativeKernelsMode): void {
  mode = next;
}

/** The build that `native` uses under the current mode on this engine. */
function variant(): NativeKernelsVariant | null {
  if (mode === 'off') return null;
  return mode === 'auto' && relaxedSupported() ? 'relaxed-simd' : 'simd';
}

let relaxed: boolean | undefined;
function relaxedSupported(): boolean {
  relaxed ??= WebAssembly.validate(decode(kernelsWasmRelaxed));
  return relaxed;
}

function decode(base64: string): Uint8Array<ArrayBuffer> {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

function leb(value: number): number[] {
  const out: number[] = [];
  do {
    let byte = value & 0x7f;
    value >>>= 7;
    if (value !== 0) byte |= 0x80;
    out.push(byte);
  } while (value !== 0);
  return out;
}

/**
 * The module with its only import, env.memory, declared shared (and with
 * the largest maximum, which any memory satisfies): the threaded backend's
 * memory is shared, and a memory import must say so to accept it.
 */
export function withSharedMemoryImport(bytes: Uint8Array): Uint8Array<ArrayBuffer> {
  const name = (s: string) => [...leb(s.length), ...Array.from(s, (c) => c.charCodeAt(0))];
  const imports = Uint8Array.from([...leb(1), ...name('env'), ...name('memory'), 0x02, 0x03, ...leb(1), ...leb(65536)]);
  // Sections as views, joined once at the end: spreading a section's bytes into push() passes one
  // argument per byte, which overflows the stack of a worker past about 64 KB of code.
  const parts: Uint8Array[] = [bytes.subarray(0, 8)];
  let i = 8;
  while (i < bytes.length) {
    const id = bytes[i++]!;
    let size = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[i++]!;
      size += (b & 0x7f) * 2 ** shift;
      if ((b & 0x80) === 0) break;
    }
    const content = id === 2 ? imports : bytes.subarray(i, i + size);
    parts.push(Uint8Array.from([id, ...leb(content.length)]), content);
    i += size;
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function instantiate(memory: WebAssembly.Memory, which: NativeKernelsVariant): NativeKernels | null {
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = decode(which === 'relaxed-simd' ? kernelsWasmRelaxed : kernelsWasmSimd);
  try {
    const module = new WebAssembly.Module(shared ? withSharedMemoryImport(bytes) : bytes);
    const instance = new WebAssembly.Instance(module, { env: { memory } });
    const kernels = instance.exports as unknown as NativeKernels;
    sites.set(kernels, { memory, module, exports: instance.exports });
    return kernels;
  } catch {
    // No wasm SIMD (the backend then runs its non-SIMD build), or an engine
    // that refuses the memory: the JS paths still work.
    return null;
  }
}

/** The native kernels on this backend's memory, or null. */
export function native(backend: KernelBackend): NativeKernels | null {
  const which = variant();
  if (which === null) return null;
  const module = (backend as BackendWasm).wasm as unknown as EmscriptenModule | undefined;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  if (memory === undefined) return null;
  let byVariant = instances.get(memory);
  if (byVariant === undefined) instances.set(memory, byVariant = new Map());
  let kernels = byVariant.get(which);
  if (kernels === undefined) {
    kernels = instantiate(memory, which);
    byVariant.set(which, kernels);
  }
  return kernels;
}

/**
 * Into how many parts a call of these kernels can be split (1 + the ready
 * workers of the pool on their memory; see pool.ts).
 */
export function nativeParts(kernels: NativeKernels): number {
  return parallelParts(sites.get(kernels) ?? null);
}

/**
 * Runs a call of these kernels cut into chunks that write disjoint memory,
 * on this thread and the pool's workers where there is a pool (pool.ts).
 */
export function nativeChunked(kernels: NativeKernels, call: ChunkedCall): void {
  runChunked(sites.get(kernels)!, call);
}

/**
 * Threads for the package's training kernels, apart from tfjs-backend-wasm's
 * own (XNNPACK) pool; null (the default): as many as that pool. Call it
 * before `startWasmTrainingThreads`. On a machine with few cores, give the
 * kernels the threads and XNNPACK one (`setThreadsCount(1)`): every heavy
 * training kernel is the package's, and XNNPACK's pool threads spin after
 * each of its ops, taking the core the kernel workers need (see the README).
 */
export function setWasmTrainingThreads(threads: number | null): void {
  setKernelThreads(threads);
}

/**
 * Starts the workers that run the package's kernels alongside this thread,
 * as many as `setWasmTrainingThreads` asked for (default: tfjs-backend-wasm's
 * thread count) less one, and resolves once
 * they are ready, with the number of threads the kernels then use (1 where
 * there are none: no Worker, no shared memory, the single-threaded build,
 * the JS fallbacks). Call it after `tf.setBackend('wasm')` and before
 * training (see pool.ts for why training alone never starts them).
 */
export async function startWasmTrainingThreads(timeoutMs = 10_000): Promise<number> {
  if (getBackend() !== 'wasm') return 1;
  const kernels = native(backend());
  const site = kernels === null ? undefined : sites.get(kernels);
  return site === undefined ? 1 : poolReady(site, timeoutMs);
}

/**
 * How many kernel chunks the workers started by `startWasmTrainingThreads`
 * have run on the current backend's memory: evidence that calls were split.
 */
export function wasmTrainingWorkerChunks(): number {
  if (getBackend() !== 'wasm') return 0;
  const kernels = native(backend());
  const site = kernels === null ? undefined : sites.get(kernels);
  return site === undefined ? 0 : workerChunks(site);
}

/** Heap byte offset of a tensor's data. */
export function ptr(backend: KernelBackend, t: TensorInfo): number {
  return (backend as BackendWasm).getMemoryOffset(t.dataId) as number;
}

/**
 * Which build of the package's wasm kernels runs on the current backend:
 * 'relaxed-simd' (with fused multiply-add), 'simd', or null where the
 * backend is not 'wasm' or the JS fallbacks run.
 */
export function wasmTrainingNativeKernels(): NativeKernelsVariant | null {
  return getBackend() === 'wasm' && native(backend()) !== null ? variant() : null;
}
