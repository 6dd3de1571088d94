import type * as tf from '@tensorflow/tfjs';

/**
 * Analytic FLOP count of a training step, for the benchmark's GFLOP/s: the multiply-adds of the
 * layers that multiply matrices (Conv2D, Conv2DTranspose, DepthwiseConv2D, Dense), per sample.
 * A training step costs ≈ 3× the forward pass (forward, input gradient, weight gradient, each
 * the same number of multiply-adds), and a multiply-add is 2 FLOPs: 6 × forward MACs. Bias,
 * activations, normalisation, pooling and the optimizer are left out (a few % of the CNN's
 * arithmetic), and so is the fact that the first layer needs no input gradient.
 */
export interface LayerMacs {
  layer: string;
  className: string;
  macs: number;
}

const dims = (shape: readonly (number | null)[]): number[] => shape.slice(1).map((d) => {
  if (d === null) throw new Error('layer shape has an unknown dimension besides the batch');
  return d;
});
const product = (values: number[]): number => values.reduce((a, b) => a * b, 1);
const pair = (v: unknown): [number, number] => (Array.isArray(v) ? [Number(v[0]), Number(v[1] ?? v[0])] : [Number(v), Number(v)]);

/** Forward multiply-adds of one layer for one sample; 0 for layers without a matrix product. */
export function layerForwardMacs(layer: tf.layers.Layer): number {
  const className = layer.getClassName();
  if (!['Conv2D', 'Conv2DTranspose', 'DepthwiseConv2D', 'Dense'].includes(className)) return 0;
  const config = layer.getConfig();
  const input = dims((layer.input as tf.SymbolicTensor).shape);
  const output = dims(layer.outputShape as (number | null)[]);
  if (config['dataFormat'] === 'channelsFirst') throw new Error(`${layer.name}: channelsFirst is not counted`);
  const inChannels = input.at(-1)!;
  const outChannels = output.at(-1)!;
  switch (className) {
    case 'Dense':
      // Every leading position (Dense applies to the last axis) times in × out.
      return product(input.slice(0, -1)) * inChannels * outChannels;
    case 'Conv2D': {
      const [kh, kw] = pair(config['kernelSize']);
      return product(output.slice(0, -1)) * outChannels * kh * kw * inChannels;
    }
    case 'Conv2DTranspose': {
      // Every input pixel scatters a kh×kw×out patch.
      const [kh, kw] = pair(config['kernelSize']);
      return product(input.slice(0, -1)) * inChannels * kh * kw * outChannels;
    }
    default: {
      const [kh, kw] = pair(config['kernelSize']);
      return product(output) * kh * kw;
    }
  }
}

/** Per-layer forward multiply-adds of one sample, layers without any left out. */
export function forwardMacs(model: tf.LayersModel): LayerMacs[] {
  return model.layers
    .map((layer) => ({ layer: layer.name, className: layer.getClassName(), macs: layerForwardMacs(layer) }))
    .filter((l) => l.macs > 0);
}

/** FLOPs of one training step per sample: 3 passes (forward, input and weight gradients) × 2 FLOPs per MAC. */
export function trainingFlopsPerSample(model: tf.LayersModel): number {
  return 6 * forwardMacs(model).reduce((sum, l) => sum + l.macs, 0);
}
