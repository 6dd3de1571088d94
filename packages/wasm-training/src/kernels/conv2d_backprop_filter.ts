import { backend_util, BatchMatMul, Conv2DBackpropFilter } from '@tensorflow/tfjs';
import type { Conv2DBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import { WasmOps } from '../wasm_ops';
import { winogradFilterGradCall, winogradFilterGradScratch, winogradFits } from './conv2d_winograd';

/**
 * dW[a,b,ci,co] = Σ_{n,y,x} x[n, y·s + a·d − top, x·s + b·d − left, ci] · dy[n,y,x,co]
 *
 * With the package's wasm SIMD kernels: per output row (n, y) and filter row
 * a, a small matrix product whose rows are the taps (b, ci) (consecutive in
 * x) and whose sum runs along the row, accumulated into dW in place: no
 * im2col buffer, and no repacking of dy. (The wasm BatchMatMul hands its
 * right operand to XNNPACK as weights, which it repacks on every call; for
 * dy, a new tensor of N·Ho·Wo·Co values each step, that repacking costs
 * more than the product.)
 *
 * Without them: one matrix product dW = Pᵀ · dy, with dy read as
 * [N·Ho·Wo, Co] in place and Pᵀ the transposed im2col of x gathered by a JS
 * loop on the wasm heap, in the wasm BatchMatMul (XNNPACK).
 *
 * A convolution that runs by Winograd (conv2d_winograd.ts) has its filter gradient taken in the
 * same transformed domain: 36 products whose sums run over the 4×4 tiles of dy.
 */
function conv2dBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmOps['backend'];
  attrs: Conv2DBackpropFilterAttrs;
}): TensorInfo {
  const { x, dy } = args.inputs;
  const { strides, pad, dataFormat, dimRoundingMode, filterShape } = args.attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, 1, pad, dimRoundingMode, false,
    backend_util.convertConv2DDataFormat(dataFormat));
  if (info.dataFormat !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropFilter supports NHWC only, got ${dataFormat}`);
  }
  const { batchSize, outHeight, outWidth, filterHeight, filterWidth, inChannels } = info;
  const kernels = native(args.backend);
  if (kernels !== null && x.dtype === 'float32' && dy.dtype === 'float32') {
    // Chunks of images across the kernel workers, if any: each chunk sums
    // its images into a dW of its own, added up after.
    const chunk = chunkSize(batchSize, nativeParts(kernels));
    const chunks = Math.ceil(batchSize / chunk);
    const out = allocate(args.backend, filterShape);
    const size = filterShape.reduce((a, b) => a * b, 1);
    const partials = chunks > 1 ? allocate(args.backend, [chunks, size]) : out;
    const [px, pdy, pdw] = [ptr(args.backend, x), ptr(args.backend, dy), ptr(args.backend, partials)];
    if (winogradFits(info)) {
      const scratch = allocate(args.backend, [chunks * winogradFilterGradScratch(info)]);
      try {
        nativeChunked(kernels, winogradFilterGradCall(info, { x: px, dy: pdy, dw: pdw, scratch: ptr(args.backend, scratch) }, chunk));
      } finally {
        args.backend.disposeData(scratch.dataId);
      }
    } else nativeChunked(kernels, {
      name: 'conv2d_filter_grad',
      args: [px, pdy, pdw, chunk, info.inHeight, info.inWidth, inChannels, outHeight, outWidth, info.outChannels,
        filterHeight, filterWidth, info.strideHeight, info.strideWidth, info.dilationHeight, info.dilationWidth,
        info.padInfo.top, info.padInfo.left],
      steps: [chunk * info.inHeight * info.inWidth * inChannels * 4, chunk * outHeight * outWidth * info.outChannels * 4,
        size * 4],
      countArg: 3,
      items: batchSize,
      chunk,
    });
    if (partials !== out) {
      const [po, pp] = [ptr(args.backend, out), ptr(args.backend, partials)];
      kernels.add_bias(pp, pp + size * 4, po, 1, size);
      for (let c = 2; c < chunks; c++) kernels.add_bias(po, pp + c * size * 4, po, 1, size);
      args.backend.disposeData(partials.dataId);
    }
    return out;
  }

  const taps = filterHeight * filterWidth * inChannels;
  const ops = new WasmOps(args.backend);
  const pixels = batchSize * outHeight * outWidth;
  const patches = ops.adopt(allocate(args.backend, [1, taps, pixels]));
  gatherPatches(f32(args.backend, x), f32(args.backend, patches), info);
  const dyRows = ops.reshape(dy, [1, pixels, info.outChannels]);
  const grad = ops.run(BatchMatMul, { a: patches, b: dyRows }, { transposeA: false, transposeB: false });
  return ops.finish(ops.reshape(grad, filterShape));
}

/** Writes Pᵀ, [kh·kw·Ci, N·Ho·Wo], into `dst`. */
function gatherPatches(
  src: Float32Array, dst: Float32Array, info: backend_util.Conv2DInfo,
): void {
  const { batchSize, inHeight, inWidth, inChannels, outHeight, outWidth, filterHeight, filterWidth } = info;
  const sH = info.strideHeight;
  const sW = info.strideWidth;
  const step = sW * inChannels;
  let o = 0;
  for (let a = 0; a < filterHeight; a++) {
    for (let b = 0; b < filterWidth; b++) {
      const rowShift = a * info.dilationHeight - info.padInfo.top;
      const colShift = b * info.dilationWidth - info.padInfo.left;
      // Output columns whose input column lies inside the image.
      const oxStart = Math.min(outWidth, Math.max(0, Math.ceil(-colShift / sW)));
      const oxEnd = Math.max(oxStart, Math.min(outWidth, Math.floor((inWidth - 1 - colShift) / sW) + 1));
      for (let ci = 0; ci < inChannels; ci++) {
        for (let n = 0; n < batchSize; n++) {
          for (let oy = 0; oy < outHeight; oy++) {
            const r = oy * sH + rowShift;
            if (r < 0 || r >= inHeight) {
              dst.fill(0, o, o + outWidth);
              o += outWidth;
              continue;
            }
            for (let ox = 0; ox < oxStart; ox++) dst[o++] = 0;
            let i = ((n * inHeight + r) * inWidth + colShift + oxStart * sW) * inChannels + ci;
            for (let ox = oxStart; ox < oxEnd; ox++, i += step) dst[o++] = src[i]!;
            for (let ox = oxEnd; ox < outWidth; ox++) dst[o++] = 0;
          }
        }
      }
    }
  }
}

export const conv2dBackpropFilterConfig: KernelConfig = {
  kernelName: Conv2DBackpropFilter,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropFilter as unknown as KernelFunc,
};
