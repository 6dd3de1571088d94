import * as tf from '@tensorflow/tfjs';
// The subpath, not the package root: the root loads tfjs-backend-wasm, which registers 'wasm' above cpu.
import { plainConv2dLayer } from '@fedward/wasm-training/layers';
import { batchNormalizationLayer } from './batch-norm-layer';
import type { ModelSpec } from '@fedward/protocol';
import { LayersEngine } from './engine';
import { initialValues, weightName } from './init';
import { GroupNorm } from './norm';
import type { ModelEngine } from './types';

/** Width knob default: the first block's channel count (the seed's vgg_nb has 32). */
export const VGG_SLIM_WIDTH = 8;

/** torch BatchNorm's momentum 0.1 is TF.js's 0.9 (TF.js weighs the old value by `momentum`); eps as torch's 1e-5. */
export const VGG_SLIM_BN_MOMENTUM = 0.9;
export const VGG_SLIM_BN_EPSILON = 1e-5;

/**
 * Channels per conv layer, block by block, for width w: [w, w] [2w, 2w] [4w, 4w] (the seed's
 * [32,32] [64,64] [128,128,128] [128,128,128] [256,256,256] cut to three two-conv blocks), and the
 * hidden width of the head, 2w (the seed's fc1 is 256 → 64, twice its first block).
 */
export function vggSlimLayout(width: number = VGG_SLIM_WIDTH): { blocks: number[][]; hidden: number } {
  return { blocks: [[width, width], [2 * width, 2 * width], [4 * width, 4 * width]], hidden: 2 * width };
}

type Sym = tf.SymbolicTensor;
const L = tf.layers;
const on = (layer: tf.layers.Layer, x: Sym): Sym => layer.apply(x) as Sym;
const batchNorm = (name: string) =>
  batchNormalizationLayer({ name, axis: -1, momentum: VGG_SLIM_BN_MOMENTUM, epsilon: VGG_SLIM_BN_EPSILON, center: true, scale: true });
/** The spec's norm: BatchNorm (norm 'batch', the default) or GroupNorm (norm 'group'; LayerNorm for bn_fc1's rank-2 input). */
const normLayer = (spec: ModelSpec, name: string): tf.layers.Layer => (spec.norm === 'group' ? new GroupNorm({ name }) : batchNorm(name));

/**
 * The seed's `VGG16_Slim_Checked` (spec §2.7, `nets/vgg_checked.py`) shrunk to run in a browser:
 *   per block b, conv c: convb_c (3×3, pad 1, no bias) → bnb_c (BatchNorm, affine, moving
 *   statistics) → relub_c; then poolb (max 2/2)
 *   → gap (global average pool) → linear1 (dense 4w → 2w, no bias) → bn_fc1 (BatchNorm1d) → relu_fc1
 *   → linear2 (dense 2w → K, no bias)
 * Names follow the seed's key convention so PFA and FedBN find their tensors by role: convolution
 * kernels `convb_c/kernel`, dense kernels `linearN/kernel`, norms `bn…/{gamma,beta,moving_mean,moving_variance}`.
 * BatchNorm trains on the batch's statistics and updates the moving ones (momentum 0.9 in TF.js
 * terms = torch's 0.1); evaluation (`training: false`) uses the moving statistics.
 * Init: torch's defaults: conv and linear kernels U(±1/√fan_in), seeded per tensor from
 * `spec.seed` and the tensor's name; γ = 1, β = 0, moving mean 0, moving variance 1.
 * Three max pools: the input must be at least 8 px.
 * With `spec.norm` 'group' every `bn…` layer is a GroupNorm instead (per-example statistics, up to
 * 8 groups; bn_fc1, after a dense layer, normalises each example over its features as a LayerNorm),
 * with `bn…/{gamma,beta}` and no moving statistics, so no layer mixes the examples of a batch (DP-SGD).
 */
export function buildVggSlim(spec: ModelSpec): tf.LayersModel {
  const { blocks, hidden } = vggSlimLayout(spec.width ?? VGG_SLIM_WIDTH);
  if (spec.inputSize < 2 ** blocks.length) {
    throw new Error(`vgg-slim needs an input of at least ${2 ** blocks.length} px (got ${spec.inputSize})`);
  }
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, spec.channels], name: 'input' });
  let x: Sym = input;
  blocks.forEach((convs, b) => {
    convs.forEach((filters, c) => {
      const id = `${b + 1}_${c + 1}`;
      x = on(plainConv2dLayer({ name: `conv${id}`, filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: 'zeros' }), x);
      x = on(normLayer(spec, `bn${id}`), x);
      x = on(L.activation({ name: `relu${id}`, activation: 'relu' }), x);
    });
    x = on(L.maxPooling2d({ name: `pool${b + 1}`, poolSize: 2, strides: 2, padding: 'valid' }), x);
  });
  x = on(L.globalAveragePooling2d({ name: 'gap' }), x);
  x = on(L.dense({ name: 'linear1', units: hidden, useBias: false, kernelInitializer: 'zeros' }), x);
  x = on(normLayer(spec, 'bn_fc1'), x);
  x = on(L.activation({ name: 'relu_fc1', activation: 'relu' }), x);
  const logits = on(L.dense({ name: 'linear2', units: spec.numClasses, useBias: false, kernelInitializer: 'zeros' }), x);
  const model = tf.model({ name: 'vgg_slim', inputs: input, outputs: logits });
  // Only the kernels are drawn; the norms keep their layer initialisers (γ 1, β 0, mean 0, var 1).
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const name = weightName(layer.name, w);
      if (!name.endsWith('/kernel')) continue;
      const shape = w.shape as number[];
      const size = shape.reduce((a, d) => a * d, 1);
      const fanIn = size / shape[shape.length - 1]!;
      tf.tidy(() => {
        w.write(tf.tensor(initialValues(spec.seed, name, size, { kind: 'uniform', bound: 1 / Math.sqrt(fanIn) }), shape));
      });
    }
  }
  return model;
}

export function createVggSlim(spec: ModelSpec): ModelEngine {
  return new LayersEngine(spec, buildVggSlim(spec), 'classification');
}
