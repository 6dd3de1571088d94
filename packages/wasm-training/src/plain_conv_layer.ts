import * as tf from '@tensorflow/tfjs';
import { convLayerGeometry, type ConvArgs } from './conv_layer_args';

/**
 * A tf.layers Conv2D without bias or activation whose forward pass is the plain `tf.conv2d` op
 * instead of `tf.fused.conv2d`.
 *
 * Why: tf.layers runs every convolution through the fused op, and its gradient (a customGrad)
 * computes the input gradient AND the filter gradient whenever either is asked for. The plain op's
 * registered gradient is one closure per input, and the tape calls only those of inputs that
 * come from a trained variable. So a model's first convolution, whose input is the image, stops
 * computing a gradient nobody reads: DenseNet's 7×7/2 stem spent 4.2 ms of a 62 ms step (batch 32,
 * one wasm thread) on it. The values are the same (both ops run the same Conv2D arithmetic on every
 * backend; without bias or activation the fused op adds nothing), and the layer stays a `Conv2D`
 * for serialisation, weight names and DP-SGD's per-layer taps.
 */
export function plainConv2dLayer(args: ConvArgs): tf.layers.Layer {
  const who = `plainConv2dLayer "${args.name ?? ''}"`;
  if (args.useBias !== false) throw new Error(`${who}: needs useBias: false (a bias wants the fused op)`);
  if (args.activation !== undefined && args.activation !== 'linear') throw new Error(`${who}: needs no activation (got ${args.activation})`);
  const { strides, pad } = convLayerGeometry(args, who);
  const layer = tf.layers.conv2d(args);
  layer.call = (inputs) =>
    tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor4D;
      // The kernel is the layer's only weight (no bias); `weights`, not `trainableWeights`, so a frozen layer runs too.
      const kernel = layer.weights[0]!.read() as tf.Tensor4D;
      return tf.conv2d(x, kernel, strides, pad, 'NHWC');
    });
  return layer;
}
