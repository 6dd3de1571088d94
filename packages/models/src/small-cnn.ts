import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { conv2dReluLayer, maxPooling2dLayer } from '@fedward/wasm-training/layers';
import { LayersEngine } from './engine';
import type { ModelEngine } from './types';

/**
 * A small CNN classifier: conv3×3×8 → maxpool → conv3×3×16 → maxpool → global max pool → dense K.
 * The global max pool makes it a detector of "is this pattern anywhere in the slice", which is
 * what a lesion-present label asks; a flatten + dense head learned the same task far slower
 * (stuck at the majority class for 6 epochs where this head reached ~100% in 3–4).
 * Layers carry fixed names so weight names ("conv1/kernel") are the same in every tab and on the
 * server, whatever TF.js's global name counters say.
 */
/**
 * The feature extractor up to the global max pool, shared with small-cnn-vb (same names and
 * initializer seeds, so both start from the same convolutions); its output has
 * SMALL_CNN_FEATURES channels. The convolutions are tf.layers Conv2D layers that train through
 * one fused convolution-bias-ReLU kernel on wasm (conv2dReluLayer), and each with the max pool
 * after it (maxPooling2dLayer) as one kernel that never writes the convolution's output: the same
 * values.
 */
export function smallCnnFeatureLayers(spec: ModelSpec): tf.layers.Layer[] {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: spec.seed + offset });
  return [
    conv2dReluLayer({
      name: 'conv1',
      inputShape: [spec.inputSize, spec.inputSize, spec.channels],
      filters: 8,
      kernelSize: 3,
      padding: 'same',
      activation: 'relu',
      kernelInitializer: init(1),
    }),
    maxPooling2dLayer({ name: 'pool1', poolSize: 2 }),
    conv2dReluLayer({ name: 'conv2', filters: SMALL_CNN_FEATURES, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
    maxPooling2dLayer({ name: 'pool2', poolSize: 2 }),
    tf.layers.globalMaxPooling2d({ name: 'gmp' }),
  ];
}

/** Channels of the last convolution: the width of the pooled features. */
export const SMALL_CNN_FEATURES = 16;

function buildSmallCnn(spec: ModelSpec): tf.LayersModel {
  const init = tf.initializers.glorotUniform({ seed: spec.seed + 4 });
  return tf.sequential({
    layers: [...smallCnnFeatureLayers(spec), tf.layers.dense({ name: 'logits', units: spec.numClasses, kernelInitializer: init })],
  });
}

export function createSmallCnn(spec: ModelSpec): ModelEngine {
  return new LayersEngine(spec, buildSmallCnn(spec), 'classification');
}
