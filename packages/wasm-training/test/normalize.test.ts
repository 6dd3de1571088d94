import * as tf from '@tensorflow/tfjs';
import { beforeAll, expect, it } from 'vitest';
import { NORMALIZE_KERNEL, NORMALIZE_GRAD_KERNEL } from '../src/kernels/normalize';
import { describeModes, expectClose, initWasm, onBackend, randomData } from './backends';

beforeAll(initWasm);

/** The normalisation op by op, differentiated by tfjs itself: the reference on cpu. */
function reference(x: tf.Tensor, groups: number, epsilon: number): tf.Tensor {
  if (groups === 0) {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const { mean, variance } = tf.moments(x, axes, true);
    return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, epsilon)));
  }
  const c = x.shape[x.rank - 1]!;
  const g = tf.reshape(x, [x.shape[0]!, -1, groups, c / groups]);
  const { mean, variance } = tf.moments(g, [1, 3], true);
  return tf.reshape(tf.div(tf.sub(g, mean), tf.sqrt(tf.add(variance, epsilon))), x.shape);
}

/** The kernel where registered (wasm), the reference elsewhere. */
function normalize(x: tf.Tensor, groups: number, epsilon: number): tf.Tensor {
  if (tf.getKernel(NORMALIZE_KERNEL, tf.getBackend()) === undefined) return reference(x, groups, epsilon);
  return tf.tidy(() => (tf.engine().runKernel(NORMALIZE_KERNEL, { x }, { groups, epsilon }) as tf.Tensor[])[0]!);
}

type Case = { name: string; shape: number[]; groups: number; shift?: number };
const cases: Case[] = [
  { name: 'batch statistics, 4 images of 6×6×8', shape: [4, 6, 6, 8], groups: 0 },
  // Channels off the 4-wide vectors; a mean far from 0 (conv outputs with a bias).
  { name: 'batch statistics, 5 channels, mean 30', shape: [3, 7, 5, 5], groups: 0, shift: 30 },
  { name: 'batch statistics, rank 2 [N, C]', shape: [6, 10], groups: 0 },
  // Above 2¹⁶ values: split across threads (3 parts in the split mode).
  { name: 'batch statistics, 3 images of 32×32×24 (split)', shape: [3, 32, 32, 24], groups: 0 },
  { name: 'groups: 4 groups of 4 channels', shape: [3, 5, 5, 16], groups: 4 },
  { name: 'groups: 3 groups of 3 channels, mean −12', shape: [2, 4, 6, 9], groups: 3, shift: -12 },
  { name: 'groups: one group (LayerNorm over a rank-2 [N, C])', shape: [5, 12], groups: 1 },
  { name: 'groups: 8 groups, 3 images of 24×24×32 (split)', shape: [3, 24, 24, 32], groups: 8 },
];

describeModes('fused normalisation on wasm matches the op-by-op one on cpu', () => {
  for (const c of cases) {
    it(c.name, async () => {
      const n = c.shape.reduce((a, b) => a * b, 1);
      // Channels of different scales, so that per-channel statistics matter.
      const cols = c.shape.at(-1)!;
      const x = randomData(n, 31).map((v, i) => v * (1 + (i % cols)) + (c.shift ?? 0));
      const dy = randomData(n, 32);
      const run = () => {
        const input = tf.tensor(x, c.shape);
        const weights = tf.tensor(dy, c.shape);
        const { value, grad } = tf.valueAndGrad((xi: tf.Tensor) => normalize(xi, c.groups, 1e-5).mul(weights).sum())(input);
        return [normalize(input, c.groups, 1e-5), grad, value];
      };
      const [yExpected, dxExpected] = await onBackend('cpu', run);
      const [yActual, dxActual] = await onBackend('wasm', run);
      expectClose(yActual!, yExpected!, 2e-5);
      expectClose(dxActual!, dxExpected!, 2e-4);
    });
  }

  // A ReLU on the normalisation's output (every norm of the U-Net and DenseNet): its gradient
  // is applied inside the normalisation's gradient kernel, unless y feeds something else too.
  for (const c of [cases[0]!, cases[1]!, cases[4]!, cases[3]!]) {
    for (const shared of [false, true]) {
      it(`then a ReLU${shared ? ', y also used elsewhere' : ''}: ${c.name}`, async () => {
        const n = c.shape.reduce((a, b) => a * b, 1);
        const cols = c.shape.at(-1)!;
        const x = randomData(n, 34).map((v, i) => v * (1 + (i % cols)) + (c.shift ?? 0));
        const dy = randomData(n, 35);
        const run = () => {
          const weights = tf.tensor(dy, c.shape);
          return tf.grad((xi: tf.Tensor) => {
            const y = normalize(xi, c.groups, 1e-5);
            const out = tf.relu(y).mul(weights).sum();
            return shared ? out.add(y.square().sum()) : out;
          })(tf.tensor(x, c.shape));
        };
        const [expected] = await onBackend('cpu', run);
        const [actual] = await onBackend('wasm', run);
        expectClose(actual!, expected!, 2e-4);
      });
    }
  }

  it('leaves a following ReLU\'s gradient to the normalisation\'s kernel, not where y has another use', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomData(2 * 4 * 4 * 8, 36), [2, 4, 4, 8]);
    const kernelsOf = async (shared: boolean) => {
      const info = await tf.profile(() => tf.grad((xi: tf.Tensor) => {
        const y = normalize(xi, 0, 1e-5);
        const out = tf.relu(y).sum();
        return shared ? out.add(y.sum()) : out;
      })(x));
      tf.dispose(info.result as tf.Tensor);
      return info.kernels.map((k) => k.name);
    };
    expect(await kernelsOf(false)).not.toContain('FedwardReluGrad');
    expect(await kernelsOf(true)).toContain('FedwardReluGrad');
    x.dispose();
  });

  it('runs as the two fused kernels on wasm, and leaves no tensors behind', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor(randomData(2 * 4 * 4 * 8, 33), [2, 4, 4, 8]);
    const before = tf.memory().numTensors;
    const info = await tf.profile(() => tf.grad((xi: tf.Tensor) => normalize(xi, 0, 1e-5).square().sum())(x));
    tf.dispose(info.result as tf.Tensor);
    const names = info.kernels.map((k) => k.name);
    expect(names).toContain(NORMALIZE_KERNEL);
    expect(names).toContain(NORMALIZE_GRAD_KERNEL);
    expect(names).not.toContain('Mean');
    expect(tf.memory().numTensors).toBe(before);
    x.dispose();
  });

  it('refuses channels that do not split into the groups, naming the kernel', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([2, 3, 3, 6]);
    expect(() => tf.engine().runKernel(NORMALIZE_KERNEL, { x }, { groups: 4, epsilon: 1e-5 })).toThrow(/FedwardNormalize: groups must be 0 .* divide the 6 channels, got 4/);
    x.dispose();
  });
});
