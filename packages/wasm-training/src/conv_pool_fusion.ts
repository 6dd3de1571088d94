import * as tf from '@tensorflow/tfjs';
import { CONV2D_RELU_MAX_POOL_KERNEL } from './kernels/kernel_names';

/**
 * How a conv2dReluLayer and the maxPooling2dLayer right after it run as one kernel
 * (FedwardConv2DBiasReluMaxPool) inside a model: the convolution's output is never computed, so
 * the convolution layer cannot return it. Instead it returns a stand-in and records what the pool
 * must run; the pool, receiving the stand-in, runs the fused kernel on the convolution's input and
 * weights. tf.layers passes the stand-in only from the one layer to the other: the convolution
 * defers only when the model's graph gives its output exactly one consumer, and that consumer is
 * such a pool. The stand-in is the input as one row of channels, [1, 1, 1, n] (an alias, no copy;
 * rank 4 because the pool layer checks its input's rank), so that anything else that reads it (a
 * sub-model ending at the convolution, which the graph check cannot see) gets a shape that no
 * convolution output has instead of plausible values. This module imports nothing of the wasm
 * backend.
 */
interface DeferredConv {
  x: tf.Tensor4D;
  kernel: tf.Tensor;
  bias: tf.Tensor;
  strides: [number, number];
  pad: 'same' | 'valid';
}

/** Pools made by maxPooling2dLayer that can take a deferred convolution (2×2, stride 2, valid, channels last). */
const fusingPools = new WeakSet<tf.layers.Layer>();
const deferred = new WeakMap<tf.Tensor, DeferredConv>();

let enabled = true;

/** Whether convolutions defer to the pool after them (the default): for benchmarks that compare the two. */
export function setConvPoolFusion(on: boolean): void {
  enabled = on;
}

export function markFusingPool(pool: tf.layers.Layer): void {
  fusingPools.add(pool);
}

/**
 * Whether `conv`, about to run with these shapes, should defer to the pool after it: the fused
 * kernel is registered (this package's wasm kernels), the layer is applied once in its model and
 * its output feeds one fusing pool only, and the kernel takes the shapes (output channels by
 * fours, an output of at least 2×2).
 */
export function poolTakesConv(conv: tf.layers.Layer, xShape: number[], kernelShape: number[], strides: [number, number],
  pad: 'same' | 'valid'): boolean {
  if (!enabled || tf.getKernel(CONV2D_RELU_MAX_POOL_KERNEL, 'wasm') === undefined) return false;
  const consumers = conv.outboundNodes;
  if (conv.inboundNodes.length !== 1 || consumers.length !== 1 || !fusingPools.has(consumers[0]!.outboundLayer)) return false;
  if (xShape.length !== 4 || kernelShape.length !== 4) return false;
  return convPoolShapesFit(tf.backend_util.computeConv2DInfo(xShape as [number, number, number, number],
    kernelShape as [number, number, number, number], strides, 1, pad));
}

/** The fused kernel's own condition on a convolution's geometry. */
export function convPoolShapesFit(info: tf.backend_util.Conv2DInfo): boolean {
  return info.dataFormat === 'channelsLast' && info.outChannels % 4 === 0 && info.outHeight >= 2 && info.outWidth >= 2;
}

/** The stand-in the convolution returns (its input as one row of channels), recording the convolution for the pool. */
export function deferToPool(conv: DeferredConv): tf.Tensor {
  const standIn = tf.reshape(conv.x, [1, 1, 1, -1]);
  deferred.set(standIn, conv);
  return standIn;
}

/** The pooled output of the deferred convolution whose stand-in is `input`, or undefined for any other tensor. */
export function runDeferredConv(input: tf.Tensor): tf.Tensor | undefined {
  const conv = deferred.get(input);
  if (conv === undefined) return undefined;
  deferred.delete(input);
  const [pooled] = tf.engine().runKernel(CONV2D_RELU_MAX_POOL_KERNEL, { x: conv.x, filter: conv.kernel, bias: conv.bias },
    { strides: conv.strides, pad: conv.pad, dataFormat: 'NHWC', dilations: [1, 1] }) as tf.Tensor[];
  return pooled;
}
