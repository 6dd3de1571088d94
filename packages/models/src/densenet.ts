import * as tf from '@tensorflow/tfjs';
// The subpath, not the package root: the root loads tfjs-backend-wasm, which registers 'wasm' above cpu.
import { plainConv2dLayer } from '@fedward/wasm-training/layers';
import type { ModelSpec } from '@fedward/protocol';
import { LayersEngine } from './engine';
import { initializeWeights } from './init';
import { BatchStatNorm, GroupNorm } from './norm';
import type { ModelEngine } from './types';

/** Dense layers per block: the seed's DenseNet-121 has (6, 12, 24, 16); spec §1.9's shrink. */
export const DENSENET_BLOCKS: readonly number[] = [2, 4, 8, 6];
export const DENSENET_GROWTH = 12;
/** Bottleneck width = BN_SIZE · growth (torchvision's bn_size). */
const BN_SIZE = 4;

type Sym = tf.SymbolicTensor;
const L = tf.layers;
const on = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;
/** The spec's norm layer: BatchStatNorm (norm 'batch', the default) or GroupNorm (norm 'group'). */
const normLayer = (spec: ModelSpec, name: string): tf.layers.Layer => (spec.norm === 'group' ? new GroupNorm({ name }) : new BatchStatNorm({ name }));
const conv = (x: Sym, name: string, filters: number, kernelSize: number, strides = 1, padding: 'same' | 'valid' = 'same'): Sym =>
  on(plainConv2dLayer({ name, filters, kernelSize, strides, padding, useBias: false, kernelInitializer: 'zeros' }), x);

/** Spatial size after each stage of the DenseNet for an input of `size` pixels (torch's floor rules). */
export function densenetSizes(size: number): { stem: number; pool: number; block1: number; padded: number; block2: number; block3: number; block4: number } {
  const stem = Math.floor((size + 2 * 3 - 7) / 2) + 1;
  const pool = Math.floor((stem + 2 * 1 - 3) / 2) + 1;
  const padded = pool + 4;
  const block2 = Math.floor(padded / 2);
  const block3 = Math.floor(block2 / 2);
  const block4 = Math.floor(block3 / 2);
  return { stem, pool, block1: pool, padded, block2, block3, block4 };
}

/**
 * Seed 1's ICH DenseNet (spec §1.9: DenseNet-121 topology with the extra ZeroPad2d(2) after
 * block 1), shrunk: growth `spec.width` (12), blocks (2, 4, 8, 6), 2·growth initial features,
 * bottleneck 4·growth, no dropout, every norm a BatchStatNorm (or, with `spec.norm` 'group', a
 * GroupNorm with per-example statistics and γ/β `<norm>/gamma`, `<norm>/beta`). Padding is explicit so the
 * geometry is torch's (7×7/2 pad 3; maxpool 3/2 pad 1, where zero padding after ReLU equals
 * torch's −∞ padding), not TF's asymmetric 'same'.
 *   conv0 → norm0 → relu0 → pool0 → block1 → pad1 → transition1 → block2 → transition2 → block3
 *   → transition3 → block4 → norm5 → relu5 → global average pool → classifier
 * Dense layer "blockB/layerL": norm1 → relu1 → conv1 (1×1, 4·growth) → norm2 → relu2 → conv2
 * (3×3, growth), concatenated onto its input. Transition "transitionT": norm → relu → conv (1×1,
 * half the channels) → pool (avg 2/2).
 * Init: Kaiming-normal convs (std sqrt(2/fan_in)), classifier weights U(±1/sqrt(fan_in)) (torch
 * Linear's default), classifier bias 0; seeded per tensor; GroupNorm γ = 1, β = 0.
 */
export function buildDenseNet(spec: ModelSpec, blocks: readonly number[] = DENSENET_BLOCKS): tf.LayersModel {
  const growth = spec.width ?? DENSENET_GROWTH;
  const sizes = densenetSizes(spec.inputSize);
  const last = [sizes.block1, sizes.block2, sizes.block3, sizes.block4][blocks.length - 1] ?? 0;
  if (blocks.length < 1 || blocks.length > 4) throw new Error(`densenet takes 1 to 4 dense blocks (got ${blocks.length})`);
  if (last < 1) {
    throw new Error(`densenet needs a larger input: ${spec.inputSize} px shrinks to nothing before block ${blocks.length} (use 16 px or more)`);
  }
  const normRelu = (x: Sym, prefix: string, suffix = ''): Sym =>
    on(L.activation({ name: `${prefix}relu${suffix}`, activation: 'relu' }), on(normLayer(spec, `${prefix}norm${suffix}`), x));
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, spec.channels], name: 'input' });
  let x = on(L.zeroPadding2d({ name: 'pad0', padding: 3 }), input);
  x = conv(x, 'conv0', 2 * growth, 7, 2, 'valid');
  x = normRelu(x, '', '0');
  x = on(L.zeroPadding2d({ name: 'pad_pool0', padding: 1 }), x);
  x = on(L.maxPooling2d({ name: 'pool0', poolSize: 3, strides: 2, padding: 'valid' }), x);
  let channels = 2 * growth;
  blocks.forEach((layers, b) => {
    for (let l = 1; l <= layers; l++) {
      const p = `block${b + 1}/layer${l}/`;
      let h = normRelu(x, p, '1');
      h = conv(h, `${p}conv1`, BN_SIZE * growth, 1);
      h = normRelu(h, p, '2');
      h = conv(h, `${p}conv2`, growth, 3);
      x = on(L.concatenate({ name: `${p}concat`, axis: -1 }), [x, h]);
      channels += growth;
    }
    if (b === 0) x = on(L.zeroPadding2d({ name: 'pad1', padding: 2 }), x);
    if (b < blocks.length - 1) {
      const p = `transition${b + 1}/`;
      channels = Math.floor(channels / 2);
      x = conv(normRelu(x, p), `${p}conv`, channels, 1);
      x = on(L.averagePooling2d({ name: `${p}pool`, poolSize: 2, strides: 2, padding: 'valid' }), x);
    }
  });
  x = normRelu(x, '', '5');
  x = on(L.globalAveragePooling2d({ name: 'gap' }), x);
  const logits = on(L.dense({ name: 'classifier', units: spec.numClasses, kernelInitializer: 'zeros', biasInitializer: 'zeros' }), x);
  const model = tf.model({ name: 'densenet', inputs: input, outputs: logits });
  initializeWeights(model, spec.seed, (name, shape) => {
    if (name === 'classifier/bias' || name.endsWith('/beta')) return { kind: 'zeros' };
    if (name.endsWith('/gamma')) return { kind: 'ones' };
    if (name === 'classifier/kernel') return { kind: 'uniform', bound: 1 / Math.sqrt(shape[0]!) };
    const fanIn = shape[0]! * shape[1]! * shape[2]!;
    return { kind: 'normal', std: Math.sqrt(2 / fanIn) };
  });
  return model;
}

export function createDenseNet(spec: ModelSpec, blocks?: readonly number[]): ModelEngine {
  return new LayersEngine(spec, buildDenseNet(spec, blocks), 'classification');
}
