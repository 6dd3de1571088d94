import { backend_util, DepthwiseConv2dNativeBackpropInput } from '@tensorflow/tfjs';
import type {
  DepthwiseConv2dNativeBackpropInputAttrs, KernelConfig, KernelFunc, TensorInfo,
} from '@tensorflow/tfjs';
import { inputGradAxis } from '../conv_geometry';
import { splitPads, WasmOps } from '../wasm_ops';

/**
 * Same rewrite as the regular input gradient (dilated dy, rotated filter),
 * but channel-wise, so it runs on the wasm DepthwiseConv2dNative (XNNPACK).
 * A channel multiplier m > 1 sums m depthwise convolutions, one per slice
 * of dy's channel groups.
 */
function depthwiseBackpropInput(args: {
  inputs: { dy: TensorInfo; filter: TensorInfo };
  backend: WasmOps['backend'];
  attrs: DepthwiseConv2dNativeBackpropInputAttrs;
}): TensorInfo {
  const { dy, filter } = args.inputs;
  const { strides, dilations, pad, dimRoundingMode, inputShape } = args.attrs;
  const filterShape = filter.shape as [number, number, number, number];
  const info = backend_util.computeConv2DInfo(
    inputShape, filterShape, strides, dilations, pad, dimRoundingMode, true);
  const [kh, kw, channels, multiplier] = filterShape;
  const [n, outH, outW] = dy.shape as [number, number, number, number];

  const ops = new WasmOps(args.backend);
  const rows = inputGradAxis({
    inSize: info.inHeight, outSize: info.outHeight, filterSize: kh, stride: info.strideHeight,
    dilation: info.dilationHeight, padBefore: info.padInfo.top,
  }, info.strideHeight - 1);
  const cols = inputGradAxis({
    inSize: info.inWidth, outSize: info.outWidth, filterSize: kw, stride: info.strideWidth,
    dilation: info.dilationWidth, padBefore: info.padInfo.left,
  }, info.strideWidth - 1);
  const { crop, pad: convPad } = splitPads([[0, 0], rows, cols, [0, 0]]);
  const rotated = ops.run('Reverse', { x: filter }, { dims: [0, 1] });

  const grouped = ops.reshape(dy, [n, outH, outW, channels, multiplier]);
  const parts: TensorInfo[] = [];
  for (let m = 0; m < multiplier; m++) {
    const dyPart = multiplier === 1 ? dy : ops.reshape(
      ops.run('Slice', { x: grouped }, { begin: [0, 0, 0, 0, m], size: [n, outH, outW, channels, 1] }),
      [n, outH, outW, channels]);
    const wPart = multiplier === 1 ? rotated
      : ops.run('Slice', { x: rotated }, { begin: [0, 0, 0, m], size: [kh, kw, channels, 1] });
    const dyUsed = ops.padOrCrop(ops.dilateSpatial(dyPart, info.strideHeight, info.strideWidth), crop);
    parts.push(ops.run('DepthwiseConv2dNative', { x: dyUsed, filter: wPart }, {
      strides: 1, dilations: [info.dilationHeight, info.dilationWidth], pad: convPad,
    }));
  }
  const first = parts[0];
  if (first === undefined) throw new Error('depthwise filter has a zero channel multiplier');
  return ops.finish(parts.length === 1 ? first : ops.run('AddN', parts));
}

export const depthwiseBackpropInputConfig: KernelConfig = {
  kernelName: DepthwiseConv2dNativeBackpropInput,
  backendName: 'wasm',
  kernelFunc: depthwiseBackpropInput as unknown as KernelFunc,
};
