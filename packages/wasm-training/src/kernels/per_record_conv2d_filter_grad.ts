import { backend_util, Conv2DBackpropFilter } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { native, nativeChunked, ptr } from '../native';
import { WasmOps } from '../wasm_ops';

/**
 * Name of the per-record filter gradient DP-SGD's fast path runs (@fedward/models,
 * dp-sgd/per-record-gradients.ts, which names the same kernel and falls back to one
 * Conv2DBackpropFilter per record where it is not registered).
 */
export const PER_RECORD_CONV2D_FILTER_GRAD = 'FedwardPerRecordConv2DBackpropFilter';

/** conv2d_filter_grad's arguments after the batch count: image, output and filter geometry. */
type Geometry = [number, number, number, number, number, number, number, number, number, number, number, number, number, number];

interface Attrs {
  strides: [number, number];
  pad: 'same' | 'valid';
  filterShape: [number, number, number, number];
  /** Slices of each record, in order: record r is images [Σ_{j<r} counts_j, + counts_r). */
  counts: number[];
}

/**
 * dW_r[a,b,ci,co] = Σ_{n ∈ record r, y, x} x[n, …, ci] · dy[n, y, x, co]: the filter gradient
 * of each record's images alone, [R, kh, kw, ci, co], where the usual kernel sums all images.
 * With the package's native kernels: the same `conv2d_filter_grad` once per record, writing
 * record r's slot; with one image per record (the usual case) as one chunked call split
 * across the kernel workers. Without them: Conv2DBackpropFilter per record on slices.
 */
function perRecordConv2dFilterGrad(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmOps['backend'];
  attrs: Attrs;
}): TensorInfo {
  const { x, dy } = args.inputs;
  const { strides, pad, filterShape, counts } = args.attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, undefined, false, 'channelsLast');
  const total = counts.reduce((n, c) => n + c, 0);
  if (total !== info.batchSize || counts.some((c) => !Number.isInteger(c) || c < 1)) {
    throw new Error(`per-record filter gradient: record sizes ${counts.join('+')} do not add up to the batch of ${info.batchSize}`);
  }
  const size = filterShape.reduce((a, b) => a * b, 1);
  const records = counts.length;
  const out = allocate(args.backend, [records, ...filterShape]);
  const kernels = native(args.backend);
  const image = info.inHeight * info.inWidth * info.inChannels;
  const outImage = info.outHeight * info.outWidth * info.outChannels;
  if (kernels !== null && x.dtype === 'float32' && dy.dtype === 'float32') {
    const [px, pdy, pdw] = [ptr(args.backend, x), ptr(args.backend, dy), ptr(args.backend, out)];
    const geometry: Geometry = [info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.outChannels,
      info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
      info.padInfo.top, info.padInfo.left];
    if (records === total) {
      // One image per record: chunks of one image write disjoint slots, so the workers can share them.
      nativeChunked(kernels, {
        name: 'conv2d_filter_grad',
        args: [px, pdy, pdw, 1, ...geometry],
        steps: [image * 4, outImage * 4, size * 4],
        countArg: 3,
        items: records,
        chunk: 1,
      });
      return out;
    }
    let at = 0;
    counts.forEach((n, r) => {
      kernels.conv2d_filter_grad(px + at * image * 4, pdy + at * outImage * 4, pdw + r * size * 4, n, ...geometry);
      at += n;
    });
    return out;
  }
  const ops = new WasmOps(args.backend);
  let at = 0;
  counts.forEach((n, r) => {
    const xr = ops.run('Slice', { x }, { begin: [at, 0, 0, 0], size: [n, -1, -1, -1] });
    const dyr = ops.run('Slice', { x: dy }, { begin: [at, 0, 0, 0], size: [n, -1, -1, -1] });
    const g = ops.run(Conv2DBackpropFilter, { x: xr, dy: dyr }, { strides, pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape });
    // f32 views are taken after every run: a kernel may grow the heap and detach older views.
    f32(args.backend, out).set(f32(args.backend, g), r * size);
    at += n;
  });
  ops.finish(out);
  return out;
}

export const perRecordConv2dFilterGradConfig: KernelConfig = {
  kernelName: PER_RECORD_CONV2D_FILTER_GRAD,
  backendName: 'wasm',
  kernelFunc: perRecordConv2dFilterGrad as unknown as KernelFunc,
};
