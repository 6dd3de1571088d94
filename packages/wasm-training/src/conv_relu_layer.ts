import * as tf from '@tensorflow/tfjs';
import { convLayerGeometry, type ConvArgs } from './conv_layer_args';
import { deferToPool, poolTakesConv } from './conv_pool_fusion';
import { CONV2D_BIAS_RELU_KERNEL } from './kernels/kernel_names';

/**
 * A tf.layers Conv2D with bias and ReLU whose forward pass, on the wasm backend with this
 * package's kernels registered, is one fused kernel (FedwardConv2DBiasRelu: the bias and the ReLU
 * applied to each output row as the convolution writes it) instead of the three that tfjs-core
 * runs under a gradient tape (it unfuses `fused.conv2d` whenever gradients are recorded), and
 * whose backward pass takes the ReLU's mask from the max-pool gradient after it where there is
 * one. On the reference CNN (batch 32, 64×64) that drops an Add and a Relu pass over each
 * activation (`bench/profile-step.ts cnn`). Followed in its model by a maxPooling2dLayer (2×2/2)
 * that alone reads its output, it defers to that pool, which runs the convolution, bias, ReLU and
 * pool as one kernel without writing the convolution's output (conv_pool_fusion.ts).
 *
 * Everywhere else it is tf.layers' own Conv2D call: other backends (WebGL and WebGPU fuse in
 * inference themselves), other dtypes, and under an outer tape (gradients of gradients, as the
 * leakage audit takes), because the fused kernel's gradient is first-order. The layer stays a
 * `Conv2D` for serialisation, weight names and DP-SGD's per-layer taps, with the same values.
 */
export function conv2dReluLayer(args: ConvArgs): tf.layers.Layer {
  const who = `conv2dReluLayer "${args.name ?? ''}"`;
  if (args.activation !== 'relu') throw new Error(`${who}: needs activation 'relu' (got ${args.activation ?? 'none'})`);
  if (args.useBias === false) throw new Error(`${who}: needs a bias (use plainConv2dLayer without one)`);
  const { strides, pad } = convLayerGeometry(args, who);
  const layer = tf.layers.conv2d(args);
  const stock = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
    if (!fusedHere(x)) return stock(inputs, kwargs);
    // Kernel then bias: a Conv2D's weights in order; `weights`, so a frozen layer runs too.
    const [kernel, bias] = layer.weights.map((w) => w.read());
    if (poolTakesConv(layer, x.shape, kernel!.shape, strides, pad)) return deferToPool({ x, kernel: kernel!, bias: bias!, strides, pad });
    return tf.engine().runKernel(CONV2D_BIAS_RELU_KERNEL, { x, filter: kernel!, bias: bias! },
      { strides, pad, dataFormat: 'NHWC', dilations: [1, 1] }) as tf.Tensor4D;
  };
  return layer;
}

/** Whether the fused kernel takes this call: float32 NHWC on wasm, registered, at most one tape deep. */
function fusedHere(x: tf.Tensor): boolean {
  return x.dtype === 'float32' && x.rank === 4 && tf.getBackend() === 'wasm'
    && tf.getKernel(CONV2D_BIAS_RELU_KERNEL, 'wasm') !== undefined && tf.engine().state.gradientDepth <= 1;
}
