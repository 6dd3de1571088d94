import { backend_util, Concat, Slice, slice_util, SplitV, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { NativeKernels } from '../native';
import type { WasmOps } from '../wasm_ops';

/**
 * Concat and SplitV of float32 tensors along any axis, as strided row copies in the package's
 * wasm kernel (`copy_rows`): with `rows` the product of the axes before the concatenation axis,
 * each input is a [rows, width] block of the output's [rows, Σ widths]. tfjs-backend-wasm
 * copies every such row with its own TypedArray.set (Concat) or runs a generic Slice per output
 * (SplitV); after a U-Net's skip connections, rows of 8 floats, that took 11–15 ms per call
 * for 2·10⁶ values (the concatenation's gradient is the split). With threads, ranges of rows.
 * Other dtypes, and the JS fallback mode, go to the original kernels.
 */
function copyBlock(kernels: NativeKernels, backend: WasmOps['backend'], from: { t: TensorInfo; stride: number; offset: number },
  to: { t: TensorInfo; stride: number; offset: number }, rows: number, cols: number): void {
  const chunk = chunkSize(rows, rows * cols >= 1 << 16 ? nativeParts(kernels) : 1);
  nativeChunked(kernels, {
    name: 'copy_rows',
    args: [ptr(backend, from.t) + 4 * from.offset, from.stride, ptr(backend, to.t) + 4 * to.offset, to.stride, chunk, cols],
    steps: [chunk * from.stride * 4, 0, chunk * to.stride * 4, 0, 0, 0],
    countArg: 4,
    items: rows,
    chunk,
  });
}

export function concatOver(original: KernelConfig): KernelConfig {
  function concat(args: { inputs: TensorInfo[]; backend: WasmOps['backend']; attrs: { axis: number | number[] } }): TensorInfo {
    const { inputs, backend } = args;
    const kernels = native(backend);
    const parts = inputs.filter((t) => util.sizeFromShape(t.shape) > 0);
    if (kernels === null || parts.length < 2 || parts.some((t) => t.dtype !== 'float32')) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const axis = util.parseAxisParam(args.attrs.axis, inputs[0]!.shape)[0]!;
    backend_util.assertParamsConsistent(inputs.map((t) => t.shape), axis);
    const out = allocate(backend, backend_util.computeOutShape(inputs.map((t) => t.shape), axis));
    const rows = util.sizeFromShape(parts[0]!.shape.slice(0, axis));
    const widths = parts.map((t) => util.sizeFromShape(t.shape.slice(axis)));
    const total = widths.reduce((a, b) => a + b, 0);
    let offset = 0;
    parts.forEach((t, i) => {
      copyBlock(kernels, backend, { t, stride: widths[i]!, offset: 0 }, { t: out, stride: total, offset }, rows, widths[i]!);
      offset += widths[i]!;
    });
    return out;
  }
  return { ...original, kernelName: Concat, kernelFunc: concat as unknown as KernelFunc };
}

export function splitVOver(original: KernelConfig): KernelConfig {
  function splitV(args: { inputs: { x: TensorInfo }; backend: WasmOps['backend']; attrs: { numOrSizeSplits: number | number[]; axis: number } }): TensorInfo[] {
    const { backend } = args;
    const { x } = args.inputs;
    const kernels = native(backend);
    if (kernels === null || x.dtype !== 'float32' || util.sizeFromShape(x.shape) === 0) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo[];
    }
    const axis = util.parseAxisParam(args.attrs.axis, x.shape)[0]!;
    const sizes = backend_util.prepareSplitSize(x as unknown as Parameters<typeof backend_util.prepareSplitSize>[0], args.attrs.numOrSizeSplits, axis);
    const rows = util.sizeFromShape(x.shape.slice(0, axis));
    const inner = util.sizeFromShape(x.shape.slice(axis + 1));
    const total = x.shape[axis]! * inner;
    let offset = 0;
    return sizes.map((size) => {
      const shape = x.shape.slice();
      shape[axis] = size;
      const out = allocate(backend, shape);
      const width = size * inner;
      if (width > 0 && rows > 0) copyBlock(kernels, backend, { t: x, stride: total, offset }, { t: out, stride: width, offset: 0 }, rows, width);
      offset += width;
      return out;
    });
  }
  return { ...original, kernelName: SplitV, kernelFunc: splitV as unknown as KernelFunc };
}

/**
 * Slice of a float32 tensor that is not one contiguous run (a zero padding's gradient: the
 * inner rows of every image): the innermost partial axis and everything inside it are a
 * [rows, width] block per index of the axes before it, one `copy_rows` call each.
 * tfjs-backend-wasm copies such slices element by element (1.6 ms for the DenseNet
 * stand-in's padding). Contiguous slices and other dtypes go to the original.
 */
export function sliceOver(original: KernelConfig): KernelConfig {
  function slice(args: { inputs: { x: TensorInfo }; backend: WasmOps['backend']; attrs: { begin: number | number[]; size: number | number[] } }): TensorInfo {
    const { backend } = args;
    const { x } = args.inputs;
    const kernels = native(backend);
    const [begin, size] = slice_util.parseSliceParams(x as unknown as Parameters<typeof slice_util.parseSliceParams>[0], args.attrs.begin, args.attrs.size) as [number[], number[]];
    if (kernels === null || x.dtype !== 'float32' || size.some((d) => d === 0) || slice_util.isSliceContinous(x.shape, begin, size)) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    // The innermost axis the slice cuts (axes inside it are whole), and the one before it as rows.
    let inner = x.shape.length - 1;
    while (inner > 0 && size[inner] === x.shape[inner]) inner--;
    const below = util.sizeFromShape(x.shape.slice(inner + 1));
    const width = size[inner]! * below;
    const rowAxis = inner - 1;
    const rows = rowAxis >= 0 ? size[rowAxis]! : 1;
    const strides = util.computeStrides(x.shape);
    const srcStride = rowAxis >= 0 ? strides[rowAxis]! : 0;
    const out = allocate(backend, size);
    // Every index of the axes before the rows: one block each.
    const outer = size.slice(0, Math.max(0, rowAxis));
    const blocks = util.sizeFromShape(outer);
    const index = outer.map(() => 0);
    for (let k = 0; k < blocks; k++) {
      let offset = begin[inner]! * below + (rowAxis >= 0 ? begin[rowAxis]! * srcStride : 0);
      index.forEach((i, axis) => (offset += (begin[axis]! + i) * strides[axis]!));
      copyBlock(kernels, backend, { t: x, stride: srcStride, offset }, { t: out, stride: width, offset: k * rows * width }, rows, width);
      for (let axis = index.length - 1; axis >= 0; axis--) {
        if (++index[axis]! < outer[axis]!) break;
        index[axis] = 0;
      }
    }
    return out;
  }
  return { ...original, kernelName: Slice, kernelFunc: slice as unknown as KernelFunc };
}
