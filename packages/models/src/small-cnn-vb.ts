import * as tf from '@tensorflow/tfjs';
import { VB_DEFAULTS, type ModelSpec } from '@fedward/protocol';
import type { RandomFill } from '@fedward/privacy';
import { LayersEngine } from './engine';
import { SMALL_CNN_FEATURES, smallCnnFeatureLayers } from './small-cnn';
import type { ModelEngine } from './types';
import { VariationalSample } from './variational-bottleneck';

/** The width of the features h the bottleneck reads and gives back: small-cnn's last convolution's channels. */
export const SMALL_CNN_VB_FEATURES = SMALL_CNN_FEATURES;

/** β and K of a small-cnn-vb spec, the PRECODE defaults filling what it leaves out. */
export function vbSettings(spec: ModelSpec): { beta: number; k: number } {
  return { beta: spec.vb?.beta ?? VB_DEFAULTS.beta, k: spec.vb?.k ?? VB_DEFAULTS.k };
}

/**
 * small-cnn (conv3×3×8-relu, maxpool 2, conv3×3×16-relu, maxpool 2, global max pool; the same
 * layer names and initializer seeds, so its convolutions start where small-cnn's do) with PRECODE's
 * variational bottleneck between the pooled features h and the head:
 *   vb_enc: dense h → 2K (μ, log σ²), linear;  vb_sample: z = μ + σ·ε in training, μ in inference
 *   (VariationalSample, which also records β·KL per example for the loss);
 *   vb_dec: dense K → 16, linear (back to h's width, as PRECODE decodes to the input shape);
 *   logits: dense K classes.
 * PRECODE places it on flattened convolution features; here it follows the global max pool
 * because flattening small-cnn's maps would make the encoder ~(inputSize²·4)·2K weights.
 */
export function buildSmallCnnVb(spec: ModelSpec, random?: RandomFill): tf.LayersModel {
  const { beta, k } = vbSettings(spec);
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: spec.seed + offset });
  return tf.sequential({
    layers: [
      ...smallCnnFeatureLayers(spec),
      tf.layers.dense({ name: 'vb_enc', units: 2 * k, kernelInitializer: init(5) }),
      new VariationalSample({ name: 'vb_sample', k, beta, ...(random && { random }) }),
      tf.layers.dense({ name: 'vb_dec', units: SMALL_CNN_VB_FEATURES, kernelInitializer: init(6) }),
      tf.layers.dense({ name: 'logits', units: spec.numClasses, kernelInitializer: init(4) }),
    ],
  });
}

/** `random` draws the bottleneck's ε (default the CSPRNG); tests pass a seeded one to replay a forward pass. */
export function createSmallCnnVb(spec: ModelSpec, random?: RandomFill): ModelEngine {
  return new LayersEngine(spec, buildSmallCnnVb(spec, random), 'classification');
}
