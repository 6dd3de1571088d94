import { backend_util, Conv2D, FusedConv2D } from '@tensorflow/tfjs';
import type { Conv2DAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { allocate } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';
import { winogradConv2d, winogradFits } from './conv2d_winograd';

/**
 * Forward convolution (NHWC, float32) in the package's wasm kernel: per
 * output row, small matrix products over the filter taps, with relaxed
 * SIMD's fused multiply-add where the engine has it, which XNNPACK's wasm
 * build does not use. With threads, the batch is split across the package's
 * kernel workers (native/pool.ts); where there are none (or a single image),
 * XNNPACK's parallel convolution keeps the kernel, except where the
 * original gets the output size wrong (numeric padding with
 * dimRoundingMode 'ceil': XNNPACK derives a smaller output from the pads
 * and leaves the rest of the buffer unwritten). It is also the convolution
 * behind Conv2DBackpropInput.
 */
export function conv2dConfigOver(original: KernelConfig): KernelConfig {
  function conv2d(args: { inputs: { x: TensorInfo; filter: TensorInfo }; backend: WasmOps['backend']; attrs: Conv2DAttrs }): TensorInfo {
    return nativeConv2d(args) ?? (original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  }
  return { ...original, kernelName: Conv2D, kernelFunc: conv2d as unknown as KernelFunc };
}

/**
 * FusedConv2D without bias or activation (what tf.layers runs for a convolution with
 * useBias false: every convolution of the U-Net and DenseNet, whose norm follows) is a plain
 * convolution: the same native kernel as Conv2D, on the same terms. With a bias, an activation
 * or PReLU weights it stays XNNPACK's.
 */
export function fusedConv2dConfigOver(original: KernelConfig): KernelConfig {
  function fusedConv2d(args: {
    inputs: { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
    backend: WasmOps['backend'];
    attrs: Conv2DAttrs & { activation: string };
  }): TensorInfo {
    const { bias, preluActivationWeights } = args.inputs;
    const plain = bias == null && preluActivationWeights == null && args.attrs.activation === 'linear';
    return (plain ? nativeConv2d(args) : null) ?? (original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo);
  }
  return { ...original, kernelName: FusedConv2D, kernelFunc: fusedConv2d as unknown as KernelFunc };
}

/** What the native convolution does to each output row once computed (the `tail` bits of conv2d in kernels.c). */
export interface ConvTail {
  bias: TensorInfo | null;
  relu: boolean;
}

/**
 * The native convolution, or null where the original kernel should run (XNNPACK: its own
 * parallel convolution where the package's pool cannot split the batch); with `tail`, the bias
 * and ReLU applied to each output row as it is written.
 */
export function nativeConv2d(
  args: { inputs: { x: TensorInfo; filter: TensorInfo }; backend: WasmOps['backend']; attrs: Conv2DAttrs },
  tail: ConvTail = { bias: null, relu: false },
): TensorInfo | null {
  const { x, filter } = args.inputs;
  const kernels = native(args.backend);
  if (kernels === null || x.dtype !== 'float32' || filter.dtype !== 'float32') return null;
  const { strides, pad, dataFormat, dilations, dimRoundingMode } = args.attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filter.shape as [number, number, number, number],
    strides, dilations, pad, dimRoundingMode, false, backend_util.convertConv2DDataFormat(dataFormat));
  const chunk = chunkSize(info.batchSize, nativeParts(kernels));
  if (info.dataFormat !== 'channelsLast'
    || (getThreadsCount() > 1 && chunk >= info.batchSize && xnnpackOutputAgrees(info))) {
    return null;
  }
  if (winogradFits(info)) return winogradConv2d(kernels, args.backend, x, filter, info, tail);
  const out = allocate(args.backend, info.outShape);
  const xImage = info.inHeight * info.inWidth * info.inChannels * 4;
  const yImage = info.outHeight * info.outWidth * info.outChannels * 4;
  const [px, pw, py] = [ptr(args.backend, x), ptr(args.backend, filter), ptr(args.backend, out)];
  const pb = tail.bias === null ? 0 : ptr(args.backend, tail.bias);
  const bits = (tail.bias === null ? 0 : 1) | (tail.relu ? 2 : 0);
  nativeChunked(kernels, {
    name: 'conv2d',
    args: [px, pw, py, chunk, info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth,
      info.outChannels, info.filterHeight, info.filterWidth, info.strideHeight, info.strideWidth,
      info.dilationHeight, info.dilationWidth, info.padInfo.top, info.padInfo.left, pb, bits],
    steps: [chunk * xImage, 0, chunk * yImage],
    countArg: 3,
    items: info.batchSize,
    chunk,
  });
  return out;
}

/** Whether XNNPACK, which derives the output size from the padding, gets tfjs's. */
function xnnpackOutputAgrees(info: backend_util.Conv2DInfo): boolean {
  const { top, bottom, left, right, type } = info.padInfo;
  if (type === 'SAME' || type === 'VALID') return true;
  const out = (size: number, before: number, after: number, filter: number, stride: number) =>
    Math.floor((size + before + after - filter) / stride) + 1;
  return out(info.inHeight, top, bottom, info.effectiveFilterHeight, info.strideHeight) === info.outHeight
    && out(info.inWidth, left, right, info.effectiveFilterWidth, info.strideWidth) === info.outWidth;
}
