import { backend_util, Mean, Sum, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';

/**
 * Sum or mean over the leading axes of a float32 tensor (bias gradients,
 * batch statistics: reduce N, H, W and keep channels). The wasm kernels first
 * transpose the reduced axes innermost, a full copy through a generic
 * transpose; summing rows of the [rows, cols] view in place needs no copy.
 * Accumulates in float64, as the cpu backend does, in the package's wasm SIMD
 * kernel (JS loop where it is unavailable); with threads, ranges of rows
 * across the package's kernel workers. Other reductions go to the original
 * kernel.
 */
export function leadingAxesReduceOver(original: KernelConfig, kind: 'sum' | 'mean'): KernelConfig {
  function reduce(args: {
    inputs: { x: TensorInfo };
    backend: WasmOps['backend'];
    attrs: { axis: number | number[]; keepDims: boolean };
  }): TensorInfo {
    const { x } = args.inputs;
    const axes = util.parseAxisParam(args.attrs.axis, x.shape).sort((a, b) => a - b);
    const leading = axes.every((a, i) => a === i) && axes.length > 0 && axes.length < x.shape.length;
    if (!leading || x.dtype !== 'float32') {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const rows = util.sizeFromShape(x.shape.slice(0, axes.length));
    const cols = util.sizeFromShape(x.shape.slice(axes.length));
    const outShape = args.attrs.keepDims
      ? backend_util.expandShapeToKeepDim(x.shape.slice(axes.length), axes)
      : x.shape.slice(axes.length);
    const out = allocate(args.backend, outShape);
    const scale = kind === 'mean' && rows > 0 ? 1 / rows : 1;
    const kernels = native(args.backend);
    if (kernels !== null) {
      // With threads, ranges of rows from 2¹⁶ values (the bias gradient after the reference CNN's
      // first convolution sums 2·10⁶), each into float64 accumulators of its own.
      const chunk = chunkSize(rows, rows * cols >= 1 << 16 ? nativeParts(kernels) : 1);
      const chunks = Math.ceil(rows / chunk);
      // Scratch for the float64 accumulators (heap allocations are 8-byte aligned).
      const acc = allocate(args.backend, [2 * cols * chunks]);
      nativeChunked(kernels, {
        name: 'sum_rows',
        args: [ptr(args.backend, x), ptr(args.backend, acc), chunk, cols],
        steps: [chunk * cols * 4, cols * 8, 0, 0],
        countArg: 2,
        items: rows,
        chunk,
      });
      const accView = f32(args.backend, acc);
      const sums = new Float64Array(accView.buffer, accView.byteOffset, cols * chunks);
      const dst = f32(args.backend, out);
      for (let c = 0; c < cols; c++) {
        let s = sums[c]!;
        for (let k = 1; k < chunks; k++) s += sums[k * cols + c]!;
        dst[c] = s * scale;
      }
      args.backend.disposeData(acc.dataId);
      return out;
    }
    const src = f32(args.backend, x);
    const dst = f32(args.backend, out);
    const acc = new Float64Array(cols);
    for (let r = 0; r < rows; r++) {
      const base = r * cols;
      for (let c = 0; c < cols; c++) acc[c] = acc[c]! + src[base + c]!;
    }
    for (let c = 0; c < cols; c++) dst[c] = acc[c]! * scale;
    return out;
  }
  return { ...original, kernelName: kind === 'sum' ? Sum : Mean, kernelFunc: reduce as unknown as KernelFunc };
}
