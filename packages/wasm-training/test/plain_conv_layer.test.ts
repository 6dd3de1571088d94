import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { plainConv2dLayer } from '../src/plain_conv_layer';
import { expectClose, initWasm } from './backends';

beforeAll(initWasm);

type Args = Parameters<typeof tf.layers.conv2d>[0];

/** One layer on a fixed input: its output, its kernel's gradient and the kernels the step ran. */
async function run(make: (args: Args) => tf.layers.Layer, args: Args) {
  const input = tf.input({ shape: [9, 9, 2] });
  const layer = make({ ...args, kernelInitializer: tf.initializers.randomNormal({ seed: 7 }) });
  const model = tf.model({ inputs: input, outputs: layer.apply(input) as tf.SymbolicTensor });
  const x = tf.randomNormal([3, 9, 9, 2], 0, 1, 'float32', 11);
  const kernel = model.trainableWeights[0]!.read() as tf.Variable;
  let out: { y: Float32Array; dk: Float32Array } | undefined;
  const profile = await tf.profile(() => {
    const { grads } = tf.variableGrads(() => tf.sum(tf.square(model.apply(x) as tf.Tensor)), [kernel]);
    out = { y: (model.apply(x) as tf.Tensor).dataSync() as Float32Array, dk: grads[kernel.name]!.dataSync() as Float32Array };
    tf.dispose(grads);
  });
  x.dispose();
  model.dispose();
  return { ...out!, className: layer.getClassName(), weightName: layer.weights[0]!.originalName, kernels: profile.kernels.map((k) => k.name) };
}

describe('plainConv2dLayer', () => {
  for (const backend of ['cpu', 'wasm'] as const) {
    for (const args of [
      { filters: 4, kernelSize: 3, padding: 'same', useBias: false },
      { filters: 3, kernelSize: 5, strides: 2, padding: 'valid', useBias: false },
    ] as Args[]) {
      it(`${backend}: ${JSON.stringify(args)} gives tf.layers' Conv2D output and kernel gradient, without the input's gradient`, async () => {
        await tf.setBackend(backend);
        const stock = await run((a) => tf.layers.conv2d(a), { ...args, name: 'stock' });
        const plain = await run(plainConv2dLayer, { ...args, name: 'plain' });
        expectClose(plain.y, stock.y, 1e-5);
        expectClose(plain.dk, stock.dk, 1e-4);
        // tf.layers' fused op computes the input gradient the tape never reads; the plain op does not.
        expect(stock.kernels).toContain('Conv2DBackpropInput');
        expect(plain.kernels).not.toContain('Conv2DBackpropInput');
        expect(plain.kernels).toContain('Conv2DBackpropFilter');
        // Still a Conv2D to serialisation and DP-SGD's taps, with the same weight name.
        expect(plain.className).toBe('Conv2D');
        expect(plain.weightName).toBe('plain/kernel');
      });
    }
  }

  it('refuses a bias, an activation, channels-first or dilation, which it does not implement', () => {
    expect(() => plainConv2dLayer({ filters: 1, kernelSize: 1 })).toThrow(/useBias: false/);
    expect(() => plainConv2dLayer({ filters: 1, kernelSize: 1, useBias: false, activation: 'relu' })).toThrow(/no activation/);
    expect(() => plainConv2dLayer({ filters: 1, kernelSize: 1, useBias: false, dataFormat: 'channelsFirst' })).toThrow(/channelsLast/);
    expect(() => plainConv2dLayer({ filters: 1, kernelSize: 3, useBias: false, dilationRate: 2 })).toThrow(/dilation/);
  });
});
