import { Conv2DBackpropFilter, Conv2DBackpropInput, engine, FusedConv2D, getKernel, sum } from '@tensorflow/tfjs';
import type { Conv2DAttrs, GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, Tensor4D, TensorInfo } from '@tensorflow/tfjs';
import { CONV2D_BIAS_RELU_KERNEL } from './kernel_names';
import { nativeConv2d } from './conv2d';
import { reluMaskAppliedBy, reluGradOp } from './relu_grad';
import type { WasmOps } from '../wasm_ops';

/**
 * relu(conv2d(x, filter) + bias) as one kernel (NHWC, float32): the package's convolution adds
 * the bias and applies the ReLU to each output row while it is in cache, where training otherwise
 * runs Conv2D, Add and Relu, three passes over an activation far larger than the cache (tfjs-core
 * unfuses `fused.conv2d` under a gradient tape). The result equals those three kernels to the bit
 * (kernels.c, bias_relu_row). Where the native convolution does not run (no wasm SIMD; threads
 * with a batch the pool cannot split), XNNPACK's own fused convolution does.
 */
function conv2dBiasRelu(args: {
  inputs: { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  backend: WasmOps['backend'];
  attrs: Conv2DAttrs;
}): TensorInfo {
  const { filter, bias } = args.inputs;
  const co = filter.shape[3]!;
  if (bias.dtype !== 'float32' || bias.shape.length !== 1 || bias.shape[0] !== co) {
    throw new Error(`${CONV2D_BIAS_RELU_KERNEL}: bias must be float32 [${co}], got ${bias.dtype} [${bias.shape}]`);
  }
  const out = nativeConv2d(args, { bias, relu: true });
  if (out !== null) return out;
  const fused = getKernel(FusedConv2D, 'wasm')!.kernelFunc;
  return fused({ ...args, attrs: { ...args.attrs, activation: 'relu' } } as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}

export const conv2dBiasReluConfig: KernelConfig = {
  kernelName: CONV2D_BIAS_RELU_KERNEL,
  backendName: 'wasm',
  kernelFunc: conv2dBiasRelu as unknown as KernelFunc,
};

/**
 * First-order gradient (the layer that runs the kernel falls back to tf.layers' ops under an
 * outer tape). The ReLU's mask is step(y), y the kernel's output (y > 0 exactly where the
 * pre-activation is), unless the max-pool gradient after it already applied it; then the bias
 * gradient sums the masked dy, and the convolution's input and filter gradients are the
 * Conv2DBackprop kernels on it, each computed only if the tape asks for it.
 */
export const conv2dBiasReluGradient: GradConfig = {
  kernelName: CONV2D_BIAS_RELU_KERNEL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [true],
  gradFunc: (dy, saved, attrs: NamedAttrMap) => {
    const [x, filter, y] = saved as [Tensor4D, Tensor4D, Tensor4D];
    const g = dy as Tensor4D;
    // Outside the closures, which the tape runs each in a tidy of its own: the masked dy lives
    // until the backward pass ends (it is dy itself after a fused max-pool gradient).
    const masked = reluMaskAppliedBy(g, y) ? g : (reluGradOp(g, y) as Tensor4D);
    return { ...convBackprops(x, filter, masked, attrs), bias: () => sum(masked, [0, 1, 2]) };
  },
};

/**
 * The gradients of a convolution's input and filter for the gradient `dy` of its output (after
 * the ReLU's mask), as closures the tape runs only for the inputs it asks for. `attrs`: the
 * convolution's (strides, pad, data format, rounding; dilations, always 1, unread).
 */
export function convBackprops(x: Tensor4D, filter: Tensor4D, dy: Tensor, attrs: NamedAttrMap): { x: () => Tensor; filter: () => Tensor } {
  return {
    x: () => engine().runKernel(Conv2DBackpropInput, { dy, filter }, { ...attrs, inputShape: x.shape }) as Tensor,
    filter: () => engine().runKernel(Conv2DBackpropFilter, { x, dy }, { ...attrs, filterShape: filter.shape }) as Tensor,
  };
}
