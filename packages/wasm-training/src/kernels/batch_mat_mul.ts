import { BatchMatMul, util } from '@tensorflow/tfjs';
import type { BatchMatMulAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { allocate } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import { WasmOps } from '../wasm_ops';

/**
 * Products with at most this many output rows run in the package's wasm
 * GEMM rather than XNNPACK whatever XNNPACK's thread count: tfjs-backend-wasm
 * hands the right operand to XNNPACK as weights, repacked on every call with
 * a new tensor (always, in training), and for few rows that repacking costs
 * more than the product. With a single thread, every size runs there: the
 * package's GEMM reads transposed operands in place and uses relaxed SIMD's
 * fused multiply-add, which XNNPACK's wasm build does not.
 */
const NATIVE_MAX_ROWS = 128;

/**
 * Products of at least this many multiply-adds are split by rows across the
 * package's kernel workers where there are (and then run in its GEMM
 * whatever their size); smaller ones are not worth waking a worker.
 */
const PARALLEL_MIN_WORK = 1 << 16;

/**
 * tfjs-backend-wasm sends a matmul to XNNPACK only when neither operand is
 * transposed and there is a single batch; every other case runs a scalar
 * triple loop. Backprop through a dense layer always asks for a transposed
 * operand (dX = dY·Wᵀ, dW = Xᵀ·dY).
 *
 * Single-batch float32 products with few output rows (a dense layer's
 * forward pass and dX, batch ≤ 128), and all of them when XNNPACK runs
 * single-threaded, run in the package's GEMM, which reads a transposed left
 * operand in place and a transposed right one after a wasm transpose (or
 * takes the transposed product when the right one is the taller). The
 * others (dW = Xᵀ·dY with a thread pool) get their transposes materialised
 * by the wasm Transpose kernel and go to the original kernel's XNNPACK path.
 */
export function batchMatMulConfigOver(original: KernelConfig): KernelConfig {
  const fast = original.kernelFunc;
  function batchMatMul(args: {
    inputs: { a: TensorInfo; b: TensorInfo };
    backend: WasmOps['backend'];
    attrs: BatchMatMulAttrs;
  }): TensorInfo {
    const { a, b } = args.inputs;
    const { transposeA, transposeB } = args.attrs;
    const single = util.sizeFromShape(a.shape.slice(0, -2)) === 1 && util.sizeFromShape(b.shape.slice(0, -2)) === 1;
    if (!single || a.dtype !== 'float32' || b.dtype !== 'float32') {
      return fast(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const [aRows, aCols] = a.shape.slice(-2) as [number, number];
    const [bRows, bCols] = b.shape.slice(-2) as [number, number];
    const m = transposeA ? aCols : aRows;
    const k = transposeA ? aRows : aCols;
    const n = transposeB ? bRows : bCols;
    if ((transposeB ? bCols : bRows) !== k) {
      throw new Error(`matMul: inner dimensions ${k} and ${transposeB ? bCols : bRows} of [${a.shape}] and [${b.shape}] differ`);
    }
    const kernels = native(args.backend);
    const parts = kernels === null || m * n * k < PARALLEL_MIN_WORK ? 1 : nativeParts(kernels);
    if (kernels !== null && (m <= NATIVE_MAX_ROWS || getThreadsCount() === 1 || parts > 1)) {
      const backend = args.backend;
      const outShape = [...(a.shape.length >= b.shape.length ? a.shape : b.shape).slice(0, -2), m, n];
      const out = allocate(backend, outShape);
      if (transposeB && !transposeA && n >= 8 * m) {
        // C = A·Bᵀ with B far taller than A has rows (a dense layer's dX = dY·Wᵀ): Cᵀ = B·Aᵀ reads B
        // in place, so only A and C are transposed, not B (the reference CNN's dX: 1.0 → 0.6 ms).
        const aT = allocate(backend, [k, m]);
        const cT = allocate(backend, [n, m]);
        kernels.transpose2d(ptr(backend, a), ptr(backend, aT), m, k);
        const chunk = chunkSize(n, parts, 4);
        const [pb, pat, pct] = [ptr(backend, b), ptr(backend, aT), ptr(backend, cT)];
        nativeChunked(kernels, {
          name: 'gemm', args: [pb, k, 1, pat, pct, chunk, m, k], steps: [chunk * k * 4, 0, 0, 0, chunk * m * 4],
          countArg: 5, items: n, chunk,
        });
        kernels.transpose2d(pct, ptr(backend, out), n, m);
        backend.disposeData(aT.dataId);
        backend.disposeData(cT.dataId);
        return out;
      }
      let right = b;
      if (transposeB) {
        right = allocate(backend, [k, n]);
        kernels.transpose2d(ptr(backend, b), ptr(backend, right), n, k);
      }
      // Row ranges (multiples of the 4-row tile) across the kernel workers, if any.
      const [rs, cs] = [transposeA ? 1 : k, transposeA ? m : 1];
      const [pa, pb, pc] = [ptr(backend, a), ptr(backend, right), ptr(backend, out)];
      const chunk = chunkSize(m, parts, 4);
      nativeChunked(kernels, {
        name: 'gemm', args: [pa, rs, cs, pb, pc, chunk, n, k], steps: [chunk * rs * 4, 0, 0, 0, chunk * n * 4],
        countArg: 5, items: m, chunk,
      });
      if (right !== b) backend.disposeData(right.dataId);
      return out;
    }
    if (!transposeA && !transposeB) return fast(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    const ops = new WasmOps(args.backend);
    const a2 = transposeA ? ops.transpose(a, swapLastTwo(a.shape.length)) : a;
    const b2 = transposeB ? ops.transpose(b, swapLastTwo(b.shape.length)) : b;
    const out = fast({
      inputs: { a: a2, b: b2 },
      backend: args.backend,
      attrs: { transposeA: false, transposeB: false },
    }) as TensorInfo;
    return ops.finish(out);
  }
  return { ...original, kernelName: BatchMatMul, kernelFunc: batchMatMul as unknown as KernelFunc };
}

function swapLastTwo(rank: number): number[] {
  const perm = Array.from({ length: rank }, (_, i) => i);
  perm[rank - 2] = rank - 1;
  perm[rank - 1] = rank - 2;
  return perm;
}
