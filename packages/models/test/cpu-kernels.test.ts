import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { activateBackend, seededRandom } from '../src';
import { registerFastCpuKernels, stockConv2DBackpropFilter } from '../src/cpu-kernels';

beforeAll(async () => {
  await activateBackend(['cpu']);
  registerFastCpuKernels();
});

function values(n: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  return Float32Array.from({ length: n }, () => rand() * 2 - 1);
}

describe('fast cpu Conv2DBackpropFilter', () => {
  const cases: { x: [number, number, number, number]; k: number; stride: number; pad: 'same' | 'valid' | number }[] = [
    { x: [2, 9, 7, 3], k: 3, stride: 1, pad: 'same' },
    { x: [3, 12, 12, 2], k: 7, stride: 2, pad: 'valid' },
    { x: [2, 11, 10, 4], k: 7, stride: 2, pad: 'same' },
    { x: [4, 5, 5, 6], k: 1, stride: 1, pad: 'valid' },
    { x: [1, 8, 9, 2], k: 2, stride: 2, pad: 'valid' },
    { x: [2, 7, 7, 3], k: 3, stride: 2, pad: 1 },
  ];
  it.each(cases)('is bit-identical to the stock kernel: %j', ({ x, k, stride, pad }) => {
    const outChannels = 5;
    const xt = tf.tensor4d(values(x.reduce((a, b) => a * b), 1), x);
    const filterShape: [number, number, number, number] = [k, k, x[3], outChannels];
    const forward = tf.conv2d(xt, tf.zeros(filterShape) as tf.Tensor4D, stride, pad);
    const dy = tf.tensor4d(values(forward.size, 2), forward.shape as [number, number, number, number]);
    const attrs = { strides: [stride, stride], pad, dataFormat: 'NHWC', dimRoundingMode: undefined, filterShape };
    const fast = tf.engine().runKernel('Conv2DBackpropFilter', { x: xt, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
    const backend = tf.backend();
    const info = stockConv2DBackpropFilter()!({ inputs: { x: xt, dy }, backend, attrs: attrs as unknown as tf.NamedAttrMap }) as tf.TensorInfo;
    const stock = backend.readSync(info.dataId) as Float32Array;
    expect(fast.shape).toEqual(filterShape);
    expect(Array.from(fast.dataSync())).toEqual(Array.from(stock));
    backend.disposeData(info.dataId);
    tf.dispose([xt, forward, dy, fast]);
  });
});
