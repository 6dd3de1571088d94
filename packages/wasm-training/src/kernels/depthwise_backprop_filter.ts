import { backend_util, DepthwiseConv2dNativeBackpropFilter } from '@tensorflow/tfjs';
import type {
  DepthwiseConv2dNativeBackpropFilterAttrs, KernelConfig, KernelFunc, TensorInfo,
} from '@tensorflow/tfjs';
import { filterGradAxis } from '../conv_geometry';
import { WasmOps } from '../wasm_ops';

/**
 * dW[a,b,c,m] = Σ_{n,y,x} x[n, y·s + a·d − top, x·s + b·d − left, c] · dy[n,y,x,c·M + m]
 *
 * Each filter tap is one strided window of the (padded) input multiplied by
 * dy and summed over batch and space: kh·kw rounds of StridedSlice,
 * Multiply and Sum, all wasm kernels. Depthwise layers are cheap, so a
 * memory-bound formulation is enough; it avoids a grouped GEMM with one
 * output channel per group, which XNNPACK does poorly.
 */
function depthwiseBackpropFilter(args: {
  inputs: { x: TensorInfo; dy: TensorInfo };
  backend: WasmOps['backend'];
  attrs: DepthwiseConv2dNativeBackpropFilterAttrs;
}): TensorInfo {
  const { x, dy } = args.inputs;
  const { strides, dilations, pad, dimRoundingMode, filterShape } = args.attrs;
  const info = backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number], filterShape, strides, dilations, pad, dimRoundingMode, true);
  const [kh, kw, channels, multiplier] = filterShape;
  const [n, outH, outW] = dy.shape as [number, number, number, number];
  const rows = filterGradAxis({
    inSize: info.inHeight, outSize: outH, filterSize: kh, stride: info.strideHeight,
    dilation: info.dilationHeight, padBefore: info.padInfo.top,
  });
  const cols = filterGradAxis({
    inSize: info.inWidth, outSize: outW, filterSize: kw, stride: info.strideWidth,
    dilation: info.dilationWidth, padBefore: info.padInfo.left,
  });

  const ops = new WasmOps(args.backend);
  const xPadded = ops.padOrCrop(x, [[0, 0], rows, cols, [0, 0]]);
  const xShape = multiplier === 1 ? null : [n, outH, outW, channels, 1];
  const dyGrouped = multiplier === 1 ? dy : ops.reshape(dy, [n, outH, outW, channels, multiplier]);
  const taps: TensorInfo[] = [];
  for (let a = 0; a < kh; a++) {
    for (let b = 0; b < kw; b++) {
      const top = a * info.dilationHeight;
      const left = b * info.dilationWidth;
      let window = ops.run('StridedSlice', { x: xPadded }, {
        begin: [0, top, left, 0],
        end: [n, top + (outH - 1) * info.strideHeight + 1, left + (outW - 1) * info.strideWidth + 1, channels],
        strides: [1, info.strideHeight, info.strideWidth, 1],
        beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0,
      });
      if (xShape !== null) window = ops.reshape(window, xShape);
      const product = ops.run('Multiply', { a: window, b: dyGrouped });
      const tap = ops.run('Sum', { x: product }, { axis: [0, 1, 2], keepDims: false });
      taps.push(ops.reshape(tap, [1, channels, multiplier]));
    }
  }
  const stacked = taps.length === 1 ? taps[0]! : ops.run('Concat', taps, { axis: 0 });
  return ops.finish(ops.reshape(stacked, [kh, kw, channels, multiplier]));
}

export const depthwiseBackpropFilterConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropFilter,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropFilter as unknown as KernelFunc,
};
