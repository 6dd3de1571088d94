import type * as tf from '@tensorflow/tfjs';

export type ConvArgs = Parameters<typeof tf.layers.conv2d>[0];

/**
 * Strides and padding of a 2-D convolution layer's arguments for the ops the package's conv
 * layers call in place of tf.layers' own, after refusing what those ops do not take:
 * channels-first data, dilation (TF.js differentiates neither op with it) and causal padding.
 * `who` names the layer in the error.
 */
export function convLayerGeometry(args: ConvArgs, who: string): { strides: [number, number]; pad: 'same' | 'valid' } {
  const pair = (v: number | number[] | undefined): [number, number] => {
    if (v === undefined) return [1, 1];
    return typeof v === 'number' ? [v, v] : [v[0]!, v[1] ?? v[0]!];
  };
  if (args.dataFormat !== undefined && args.dataFormat !== 'channelsLast') throw new Error(`${who}: channelsLast only`);
  if (pair(args.dilationRate).some((d) => d !== 1)) throw new Error(`${who}: no dilation (TF.js has no gradient for it)`);
  if (args.padding === 'causal') throw new Error(`${who}: no causal padding for 2-D convolutions`);
  return { strides: pair(args.strides), pad: args.padding === 'same' ? 'same' : 'valid' };
}
