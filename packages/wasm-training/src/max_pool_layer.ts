import * as tf from '@tensorflow/tfjs';
import { markFusingPool, runDeferredConv } from './conv_pool_fusion';

type PoolArgs = Parameters<typeof tf.layers.maxPooling2d>[0];

/**
 * A tf.layers MaxPooling2D that, when it is a 2×2 pool of stride 2, valid padding and channels
 * last, runs together with a conv2dReluLayer right before it as one kernel where that layer defers
 * to it (conv_pool_fusion.ts): the convolution's output is never written. Otherwise, and on every
 * other backend, it is tf.layers' own pooling; it stays a `MaxPooling2D` for serialisation.
 */
export function maxPooling2dLayer(args: PoolArgs): tf.layers.Layer {
  const layer = tf.layers.maxPooling2d(args);
  const pair = (v: number | number[] | undefined) => (v === undefined ? undefined : typeof v === 'number' ? [v, v] : v);
  const size = pair(args.poolSize) ?? [2, 2];
  const strides = pair(args.strides) ?? size;
  const two = (v: number[]) => v.length === 2 && v[0] === 2 && v[1] === 2;
  if (two(size) && two(strides) && (args.padding ?? 'valid') === 'valid' && (args.dataFormat ?? 'channelsLast') === 'channelsLast') {
    markFusingPool(layer);
  }
  const stock = layer.call.bind(layer);
  layer.call = (inputs, kwargs) => runDeferredConv((Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor) ?? stock(inputs, kwargs);
  return layer;
}
