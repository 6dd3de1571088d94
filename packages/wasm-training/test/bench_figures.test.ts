import * as tf from '@tensorflow/tfjs';
import { describe, expect, it } from 'vitest';
import { forwardMacs, layerForwardMacs, trainingFlopsPerSample } from '../bench/flops';
import { referenceCnn, smallUnet } from '../bench/models';
import { ceilingModule, ceilingVariants, flopsPerIteration } from '../bench/simd-ceiling';

describe('bench FLOP count', () => {
  it('counts one convolution layer by hand', () => {
    // 64×64×1 → 3×3×16 valid: 62·62 output pixels × 16 filters × 9 taps × 1 input channel.
    const model = tf.sequential({ layers: [tf.layers.conv2d({ inputShape: [64, 64, 1], filters: 16, kernelSize: 3 })] });
    expect(layerForwardMacs(model.layers[0]!)).toBe(62 * 62 * 16 * 9);
    expect(trainingFlopsPerSample(model)).toBe(6 * 62 * 62 * 16 * 9);
    model.dispose();
  });

  it('counts dense, strided and transposed convolutions', () => {
    const input = tf.input({ shape: [16, 16, 4] });
    const strided = tf.layers.conv2d({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' });
    const up = tf.layers.conv2dTranspose({ filters: 2, kernelSize: 2, strides: 2 });
    const dense = tf.layers.dense({ units: 5 });
    const y = dense.apply(tf.layers.flatten().apply(up.apply(strided.apply(input)))) as tf.SymbolicTensor;
    const model = tf.model({ inputs: input, outputs: y });
    expect(layerForwardMacs(strided)).toBe(8 * 8 * 8 * 9 * 4);
    expect(layerForwardMacs(up)).toBe(8 * 8 * 8 * 4 * 2);
    expect(layerForwardMacs(dense)).toBe(16 * 16 * 2 * 5);
    model.dispose();
  });

  it('counts the reference CNN and the U-Net stand-in', () => {
    const cnn = referenceCnn().build();
    // conv 62²·16·9, conv 29²·32·144, dense 6272·64, dense 64·2.
    expect(forwardMacs(cnn).map((l) => l.macs)).toEqual([553_536, 3_875_328, 401_408, 128]);
    expect(trainingFlopsPerSample(cnn)).toBe(6 * 4_830_400);
    cnn.dispose();
    const unet = smallUnet().build();
    expect(forwardMacs(unet)).toHaveLength(13);
    unet.dispose();
  });
});

describe('wasm SIMD ceiling kernel', () => {
  for (const relaxed of [false, true]) {
    it(`${relaxed ? 'relaxed_madd' : 'mul + add'}: validates and computes its chains`, async () => {
      for (const kernel of ceilingVariants(relaxed)) {
        const bytes = ceilingModule(kernel);
        expect(WebAssembly.validate(bytes)).toBe(true);
        const { instance } = await WebAssembly.instantiate(bytes);
        const madd = instance.exports['madd'] as (iterations: number, a: number, b: number) => number;
        // acc ← acc·1 + 0.5 per unrolled madd in every lane of every accumulator: exact in float32 here.
        expect(madd(3, 1, 0.5)).toBe((3 * flopsPerIteration(kernel) / 8) * 4 * 0.5);
      }
    });
  }
});
