import { backend_util, Conv2DBackpropInput } from '@tensorflow/tfjs';
import type { Conv2DBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { inputGradAxis } from '../conv_geometry';
import { splitPads, WasmOps } from '../wasm_ops';

/**
 * The input gradient (and a transposed convolution's forward pass) as a
 * forward convolution: dy with `stride − 1` zeros between pixels, convolved
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

export const conv2dBackpropInputConfig: KernelConfig = {
  kernelName: Conv2DBackpropInput,
  backendName: 'wasm',
  kernelFunc: conv2dBackpropInput as unknown as KernelFunc,
};
