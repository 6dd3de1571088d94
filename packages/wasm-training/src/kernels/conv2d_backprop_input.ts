import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { inputGradAxis } from '../conv_geometry';
import { allocate, f32 } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import { splitPads, WasmOps } from '../wasm_ops';
import { winogradFits, winogradInputGrad } from './conv2d_winograd';

/**
 * The input gradient (and a transposed convolution's forward pass). With the
 * package's wasm kernels (float32): computed directly, phase by phase of the
 * stride (native/kernels.c `conv2d_input_grad`), from dy and the filter
 * repacked per phase here (kh·kw·ci·co values), so that no dilated dy is
 * built and no multiply-add hits an inserted zero (3 in 4 of them at stride
 * 2); with threads, chunks of images across the package's workers.
 * Otherwise as a forward convolution: dy with `stride − 1` zeros between pixels, convolved
 * with the filter rotated by 180° and its channel axes swapped.
 * tfjs-backend-wasm ships this kernel as a scalar C++ loop; this runs the
 * registered Conv2D instead: the package's wasm kernel single-threaded,
 * XNNPACK with a thread pool (see conv2d.ts). Stride > 1 wastes the
 * multiplications by the inserted zeros, which still beats the scalar loop.
 */
function conv2dBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmOps['backend'];
  attrs: Conv2DBackpropInputAttrs;
}): TensorInfo {
  const { dy, filter } = args.inputs;
  const { strides, pad, dataFormat, dimRoundingMode, inputShape } = args.attrs;
  const info = backend_util.computeConv2DInfo(
    inputShape, filter.shape as [number, number, number, number], strides, 1, pad, dimRoundingMode, false,
    backend_util.convertConv2DDataFormat(dataFormat));
  if (info.dataFormat !== 'channelsLast') {
    throw new Error(`wasm Conv2DBackpropInput supports NHWC only, got ${dataFormat}`);
  }
  const kernels = native(args.backend);
  if (kernels !== null && dy.dtype === 'float32' && filter.dtype === 'float32') {
    return nativeInputGrad(kernels, args.backend, dy, filter, info);
  }
  const ops = new WasmOps(args.backend);
  const spread = ops.dilateSpatial(dy, info.strideHeight, info.strideWidth);
  const rows = inputGradAxis({
    inSize: info.inHeight, outSize: info.outHeight, filterSize: info.filterHeight, stride: info.strideHeight,
    dilation: 1, padBefore: info.padInfo.top,
  }, info.strideHeight - 1);
  const cols = inputGradAxis({
    inSize: info.inWidth, outSize: info.outWidth, filterSize: info.filterWidth, stride: info.strideWidth,
    dilation: 1, padBefore: info.padInfo.left,
  }, info.strideWidth - 1);
  const { crop, pad: convPad } = splitPads([[0, 0], rows, cols, [0, 0]]);
  const dyUsed = ops.padOrCrop(spread, crop);
  const rotated = ops.run('Reverse', { x: filter }, { dims: [0, 1] });
  const swapped = ops.transpose(rotated, [0, 1, 3, 2]);
  return ops.finish(ops.run('Conv2D', { x: dyUsed, filter: swapped }, {
    strides: 1, dilations: 1, pad: convPad, dataFormat: 'NHWC',
  }));
}

/**
 * The filter [kh, kw, ci, co] packed for `conv2d_input_grad`: phase (ry, rx)
 * after phase, ry major, each [Ta][Tb][co][ci] with its taps reversed
 * (ascending dy positions): w[ry + sh·(Ta−1−ta), rx + sw·(Tb−1−tb), c, k].
 */
export function packInputGradFilter(
  w: Float32Array, out: Float32Array, kh: number, kw: number, ci: number, co: number, sh: number, sw: number,
): void {
  let o = 0;
  for (let ry = 0; ry < sh; ry++) {
    const ta = Math.ceil((kh - ry) / sh);
    for (let rx = 0; rx < sw; rx++) {
      const tb = Math.ceil((kw - rx) / sw);
      for (let t = 0; t < ta; t++) {
        const a = ry + sh * (ta - 1 - t);
        for (let u = 0; u < tb; u++) {
          const b = rx + sw * (tb - 1 - u);
          const base = (a * kw + b) * ci * co;
          for (let k = 0; k < co; k++) {
            for (let c = 0; c < ci; c++) out[o++] = w[base + c * co + k]!;
          }
        }
      }
    }
  }
}

function nativeInputGrad(
  kernels: NonNullable<ReturnType<typeof native>>, backend: WasmOps['backend'], dy: TensorInfo, filter: TensorInfo,
  info: backend_util.Conv2DInfo,
): TensorInfo {
  if (winogradFits(info)) return winogradInputGrad(kernels, backend, dy, filter, info);
  const { filterHeight: kh, filterWidth: kw, inChannels: ci, outChannels: co, strideHeight: sh, strideWidth: sw } = info;
  const out = allocate(backend, info.inShape);
  const packed = allocate(backend, [kh * kw * ci * co]);
  // Views after allocating: allocation can grow the heap and detach older ones.
  packInputGradFilter(f32(backend, filter), f32(backend, packed), kh, kw, ci, co, sh, sw);
  const chunk = chunkSize(info.batchSize, nativeParts(kernels));
  const dyImage = info.outHeight * info.outWidth * co * 4;
  const dxImage = info.inHeight * info.inWidth * ci * 4;
  try {
    nativeChunked(kernels, {
      name: 'conv2d_input_grad',
      args: [ptr(backend, dy), ptr(backend, packed), ptr(backend, out), chunk, info.inHeight, info.inWidth, ci,
        info.outHeight, info.outWidth, co, kh, kw, sh, sw, info.padInfo.top, info.padInfo.left],
      steps: [chunk * dyImage, 0, chunk * dxImage],
      countArg: 3,
      items: info.batchSize,
      chunk,
    });
  } finally {
    backend.disposeData(packed.dataId);
  }
  return out;
}

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
