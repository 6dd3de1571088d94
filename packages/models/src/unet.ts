import * as tf from '@tensorflow/tfjs';
// The subpath, not the package root: the root loads tfjs-backend-wasm, which registers 'wasm' above cpu.
import { plainConv2dLayer } from '@fedward/wasm-training/layers';
import type { ModelSpec } from '@fedward/protocol';
import { LayersEngine } from './engine';
import { initializeWeights } from './init';
import { BatchStatNorm, GroupNorm } from './norm';
import type { ModelEngine } from './types';

export const UNET_FEATURES = 8;

type Sym = tf.SymbolicTensor;
const L = tf.layers;
const on = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

/**
 * [conv3×3 (no bias) → norm → relu] ×2, layers "<block>/conv1", "<block>/norm1", "<block>/relu1", …;
 * the norm is a BatchStatNorm, or a GroupNorm (γ/β "<block>/normK/gamma", "…/beta") when `group`.
 */
function double(x: Sym, block: string, filters: number, group: boolean): Sym {
  for (const k of [1, 2]) {
    x = on(plainConv2dLayer({ name: `${block}/conv${k}`, filters, kernelSize: 3, padding: 'same', useBias: false, kernelInitializer: 'zeros' }), x);
    const name = `${block}/norm${k}`;
    x = on(group ? new GroupNorm({ name }) : new BatchStatNorm({ name }), x);
    x = on(L.activation({ name: `${block}/relu${k}`, activation: 'relu' }), x);
  }
  return x;
}

/**
 * Seed 1's prostate U-Net (spec §1.9) for binary segmentation, shrunk to f = `spec.width` (8)
 * features: encoders enc1..enc4 at f, 2f, 4f, 8f (each followed by a 2×2 max pool), bottleneck 16f;
 * decoders: upK (conv2dTranspose 2×2/2 with bias) → concatK [up, skip] → decK (double block);
 * final 1×1 conv with bias to one logit per pixel. `numClasses` is ignored (one sigmoid output).
 * Init as torch's defaults: kernels and biases U(±1/sqrt(fan_in)), fan_in = kh·kw·shape[2]
 * (torch's fan_in of a ConvTranspose2d weight is its out-channels·kh·kw, which is where
 * conv2dTranspose keeps out-channels); seeded per tensor. With `spec.norm` 'group' every norm
 * is a GroupNorm (per-example statistics, γ = 1, β = 0) instead of a BatchStatNorm.
 */
export function buildUNet(spec: ModelSpec): tf.LayersModel {
  const f = spec.width ?? UNET_FEATURES;
  if (spec.inputSize % 16 !== 0) throw new Error(`unet needs an input size divisible by 16 (got ${spec.inputSize})`);
  const group = spec.norm === 'group';
  const input = tf.input({ shape: [spec.inputSize, spec.inputSize, spec.channels], name: 'input' });
  const skips: Sym[] = [];
  let x: Sym = input;
  for (let k = 1; k <= 4; k++) {
    x = double(x, `enc${k}`, f * 2 ** (k - 1), group);
    skips.push(x);
    x = on(L.maxPooling2d({ name: `pool${k}`, poolSize: 2, strides: 2 }), x);
  }
  x = double(x, 'bottleneck', 16 * f, group);
  for (let k = 4; k >= 1; k--) {
    const filters = f * 2 ** (k - 1);
    const up = on(L.conv2dTranspose({ name: `up${k}`, filters, kernelSize: 2, strides: 2, padding: 'valid', kernelInitializer: 'zeros' }), x);
    x = on(L.concatenate({ name: `concat${k}`, axis: -1 }), [up, skips[k - 1]!]);
    x = double(x, `dec${k}`, filters, group);
  }
  const logits = on(L.conv2d({ name: 'final', filters: 1, kernelSize: 1, kernelInitializer: 'zeros' }), x);
  const model = tf.model({ name: 'unet', inputs: input, outputs: logits });
  const fanIn = new Map<string, number>();
  initializeWeights(model, spec.seed, (name, shape) => {
    if (name.endsWith('/gamma')) return { kind: 'ones' };
    if (name.endsWith('/beta')) return { kind: 'zeros' };
    const layer = name.slice(0, name.lastIndexOf('/'));
    if (name.endsWith('/kernel')) fanIn.set(layer, shape[0]! * shape[1]! * shape[2]!);
    const n = fanIn.get(layer);
    if (n === undefined) throw new Error(`no kernel before "${name}"`);
    return { kind: 'uniform', bound: 1 / Math.sqrt(n) };
  });
  return model;
}

export function createUNet(spec: ModelSpec): ModelEngine {
  return new LayersEngine(spec, buildUNet(spec), 'segmentation');
}
