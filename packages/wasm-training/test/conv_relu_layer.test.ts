import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { conv2dReluLayer } from '../src/conv_relu_layer';
import { CONV2D_BIAS_RELU_KERNEL, CONV2D_RELU_MAX_POOL_KERNEL, MAX_UNPOOL_RELU_KERNEL } from '../src/kernels/kernel_names';
import { maxPooling2dLayer } from '../src/max_pool_layer';
import { RELU_GRAD_KERNEL } from '../src/kernels/relu_grad';
import { describeModes, expectClose, expectSameBits, initWasm, randomData } from './backends';

beforeAll(initWasm);

type Args = Parameters<typeof tf.layers.conv2d>[0];
type PoolLayer = (args: Parameters<typeof tf.layers.maxPooling2d>[0]) => tf.layers.Layer;

interface Case {
  name: string;
  input: [number, number, number, number];
  args: Args;
  /** A 2×2 max pool after the convolution (whose gradient then applies the ReLU's mask). */
  pool: boolean;
}

// Channel counts on and off the 4-wide vectors, one input channel (the CNNs' first layer),
// both paddings, a stride, and a ReLU with or without a max pool after it.
const cases: Case[] = [
  { name: 'ci 1 → co 16, 3×3 valid, pooled', input: [3, 14, 14, 1], args: { filters: 16, kernelSize: 3 }, pool: true },
  { name: 'ci 3 → co 5, 3×3 same, pooled', input: [2, 10, 10, 3], args: { filters: 5, kernelSize: 3, padding: 'same' }, pool: true },
  { name: 'ci 4 → co 8, 3×3/2 same, not pooled', input: [2, 11, 11, 4], args: { filters: 8, kernelSize: 3, strides: 2, padding: 'same' }, pool: false },
  { name: 'ci 2 → co 6, 5×5 valid, not pooled', input: [3, 9, 9, 2], args: { filters: 6, kernelSize: 5 }, pool: false },
  // Winograd F(4×4, 3×3) convolutions (3×3 stride 1, enough channels): the bias and ReLU in its output transform.
  { name: 'ci 16 → co 32, 3×3 valid, pooled (Winograd: the CNN\'s second layer)', input: [3, 13, 13, 16], args: { filters: 32, kernelSize: 3 }, pool: true },
  { name: 'ci 8 → co 16, 3×3 same, not pooled (Winograd)', input: [2, 9, 7, 8], args: { filters: 16, kernelSize: 3, padding: 'same' }, pool: false },
  // One input channel with 'same' padding: the interior columns by the one-channel 3×3 kernel, the border ones apart.
  { name: 'ci 1 → co 8, 3×3 same, pooled (the small CNN\'s first layer)', input: [2, 12, 10, 1], args: { filters: 8, kernelSize: 3, padding: 'same' }, pool: true },
  { name: 'ci 1 → co 4, 3×3 same, not pooled', input: [2, 9, 11, 1], args: { filters: 4, kernelSize: 3, padding: 'same' }, pool: false },
  // Convolution and pool as one kernel with odd outputs (the pool drops the last row and column).
  { name: 'ci 2 → co 8, 3×3 same, pooled 7×7 → 3×3', input: [3, 7, 7, 2], args: { filters: 8, kernelSize: 3, padding: 'same' }, pool: true },
  { name: 'ci 8 → co 16, 3×3 same, pooled 9×7 → 4×3 (Winograd)', input: [2, 9, 7, 8], args: { filters: 16, kernelSize: 3, padding: 'same' }, pool: true },
  { name: 'ci 4 → co 8, 3×3/2 same, pooled', input: [2, 11, 11, 4], args: { filters: 8, kernelSize: 3, strides: 2, padding: 'same' }, pool: true },
];

/** Whether the convolution and the pool after it run as one kernel (output channels by fours). */
const poolFused = (c: Case) => c.pool && c.args.filters! % 4 === 0;

interface Run {
  y: Float32Array;
  dx: Float32Array;
  dk: Float32Array;
  db: Float32Array;
  kernels: string[];
}

/**
 * The layer (stock tf.layers or conv2dReluLayer) with a bias far from 0 (so the ReLU cuts) in a
 * model with a loss that weighs every output differently; its output and the gradients of the
 * loss with respect to the input, the kernel and the bias, and the kernels the step ran.
 */
async function run(backend: 'cpu' | 'wasm', make: (args: Args) => tf.layers.Layer, c: Case,
  pool: PoolLayer = (a) => tf.layers.maxPooling2d(a)): Promise<Run> {
  await tf.setBackend(backend);
  const input = tf.input({ shape: c.input.slice(1) });
  const layer = make({
    ...c.args, activation: 'relu', name: 'conv',
    kernelInitializer: tf.initializers.randomNormal({ seed: 7 }),
    biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 8 }),
  });
  let out = layer.apply(input) as tf.SymbolicTensor;
  if (c.pool) out = pool({ poolSize: 2 }).apply(out) as tf.SymbolicTensor;
  const model = tf.model({ inputs: input, outputs: out });
  const n = c.input.reduce((a, b) => a * b, 1);
  const x = tf.variable(tf.tensor(randomData(n, 31), c.input));
  const [kernel, bias] = model.trainableWeights.map((w) => w.read() as tf.Variable);
  let result: Omit<Run, 'kernels'> | undefined;
  const profile = await tf.profile(() => {
    // The output under the tape, where training takes it (outside one, tf.layers runs its fused op).
    let y: tf.Tensor | undefined;
    const { grads } = tf.variableGrads(() => {
      y = tf.keep(model.apply(x) as tf.Tensor);
      const weights = tf.tensor(randomData(y.size, 32), y.shape);
      return tf.sum(tf.mul(y, weights)) as tf.Scalar;
    }, [x, kernel!, bias!]);
    result = {
      y: Float32Array.from(y!.dataSync()),
      dx: Float32Array.from(grads[x.name]!.dataSync()),
      dk: Float32Array.from(grads[kernel!.name]!.dataSync()),
      db: Float32Array.from(grads[bias!.name]!.dataSync()),
    };
    tf.dispose([y!, ...Object.values(grads)]);
  });
  x.dispose();
  model.dispose();
  return { ...result!, kernels: profile.kernels.map((k) => k.name) };
}


describeModes('conv2dReluLayer matches tf.layers on cpu', (mode) => {
  for (const c of cases) {
    it(c.name, async () => {
      const reference = await run('cpu', (a) => tf.layers.conv2d(a), c);
      const fused = await run('wasm', conv2dReluLayer, c, maxPooling2dLayer);
      expectClose(fused.y, reference.y, 1e-5);
      expectClose(fused.dx, reference.dx, 1e-4);
      expectClose(fused.dk, reference.dk, 1e-4);
      expectClose(fused.db, reference.db, 1e-4);
      // A 2×2 pool after it: one kernel for both, whose gradient starts from the pool's mask.
      expect(fused.kernels.includes(CONV2D_RELU_MAX_POOL_KERNEL)).toBe(poolFused(c));
      expect(fused.kernels.includes(MAX_UNPOOL_RELU_KERNEL)).toBe(poolFused(c));
      expect(fused.kernels.includes(CONV2D_BIAS_RELU_KERNEL)).toBe(!poolFused(c));
      expect(fused.kernels.includes('MaxPool')).toBe(c.pool && !poolFused(c));
      expect(fused.kernels).not.toContain('Relu');
      // After a max pool, the pool's gradient applies the ReLU's mask and nothing else does.
      expect(fused.kernels.includes(RELU_GRAD_KERNEL)).toBe(!c.pool);
      // The same layer with tf.layers' own pool after it: the convolution does not defer.
      if (poolFused(c)) {
        const apart = await run('wasm', conv2dReluLayer, c);
        expect(apart.kernels).toContain(CONV2D_BIAS_RELU_KERNEL);
        expectSameBits(fused.y, apart.y);
      }
      if (mode === 'off') return;
      // The package's convolution adds the bias and cuts as Add and Relu after Conv2D do, to the bit.
      const stock = await run('wasm', (a) => tf.layers.conv2d(a), c);
      expect(stock.kernels).toContain('Relu');
      expectSameBits(fused.y, stock.y);
      expectSameBits(fused.dk, stock.dk);
      expectSameBits(fused.db, stock.db);
      expectSameBits(fused.dx, stock.dx);
    });
  }
});

/**
 * A model of the given layers on cpu and on wasm from the same seeded weights: its output without
 * a tape (inference), its loss's gradients with respect to every weight, and the kernels of the
 * training step on wasm.
 */
async function trainStep(build: () => tf.LayersModel, input: [number, number, number, number]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[]; kernels: string[] }> {
  const once = async (backend: 'cpu' | 'wasm') => {
    await tf.setBackend(backend);
    const model = build();
    const x = tf.tensor(randomData(input.reduce((a, b) => a * b, 1), 51), input);
    const predicted = Float32Array.from((model.predict(x) as tf.Tensor).dataSync());
    const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
    let values: Float32Array[] = [];
    const profile = await tf.profile(() => {
      const { grads } = tf.variableGrads(() => {
        const y = model.apply(x, { training: true }) as tf.Tensor;
        return tf.sum(tf.mul(y, tf.tensor(randomData(y.size, 52), y.shape))) as tf.Scalar;
      }, vars);
      values = vars.map((v) => Float32Array.from(grads[v.name]!.dataSync()));
      tf.dispose(Object.values(grads));
    });
    x.dispose();
    model.dispose();
    return { values: [predicted, ...values], kernels: profile.kernels.map((k) => k.name) };
  };
  const cpu = await once('cpu');
  const wasm = await once('wasm');
  return { cpu: cpu.values, wasm: wasm.values, kernels: wasm.kernels };
}

const seededConv = (args: Args, seed: number) => conv2dReluLayer({
  ...args, activation: 'relu', kernelInitializer: tf.initializers.randomNormal({ seed }),
  biasInitializer: tf.initializers.randomUniform({ minval: -0.3, maxval: 0.3, seed: seed + 100 }),
});

describeModes('a convolution and the pool after it in a model', () => {
  it('train as one kernel in a Sequential model (the small CNN\'s shape), as tf.layers does on cpu', async () => {
    const { cpu, wasm, kernels } = await trainStep(() => tf.sequential({
      layers: [
        seededConv({ inputShape: [14, 12, 1], filters: 8, kernelSize: 3, padding: 'same' }, 61),
        maxPooling2dLayer({ poolSize: 2 }),
        seededConv({ filters: 16, kernelSize: 3, padding: 'same' }, 62),
        maxPooling2dLayer({ poolSize: 2 }),
        tf.layers.flatten(),
        tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.randomNormal({ seed: 63 }) }),
      ],
    }), [4, 14, 12, 1]);
    cpu.forEach((expected, i) => expectClose(wasm[i]!, expected, 1e-4));
    expect(kernels.filter((k) => k === CONV2D_RELU_MAX_POOL_KERNEL)).toHaveLength(2);
    expect(kernels).not.toContain('MaxPool');
  });

  it('run apart where the convolution\'s output has a second consumer', async () => {
    const { cpu, wasm, kernels } = await trainStep(() => {
      const input = tf.input({ shape: [10, 10, 2] });
      const y = seededConv({ filters: 8, kernelSize: 3 }, 71).apply(input) as tf.SymbolicTensor;
      const pooled = tf.layers.globalMaxPooling2d({}).apply(maxPooling2dLayer({ poolSize: 2 }).apply(y)) as tf.SymbolicTensor;
      const mean = tf.layers.globalAveragePooling2d({}).apply(y) as tf.SymbolicTensor;
      return tf.model({ inputs: input, outputs: tf.layers.concatenate().apply([pooled, mean]) as tf.SymbolicTensor });
    }, [3, 10, 10, 2]);
    cpu.forEach((expected, i) => expectClose(wasm[i]!, expected, 1e-4));
    expect(kernels).not.toContain(CONV2D_RELU_MAX_POOL_KERNEL);
    expect(kernels).toContain(CONV2D_BIAS_RELU_KERNEL);
  });
});

describe('conv2dReluLayer', () => {
  it('runs tf.layers\' ops under an outer tape, so second-order gradients match cpu', async () => {
    const secondOrder = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const layer = conv2dReluLayer({
        filters: 3, kernelSize: 3, activation: 'relu', inputShape: [6, 6, 2],
        kernelInitializer: tf.initializers.randomNormal({ seed: 3 }),
        biasInitializer: tf.initializers.randomUniform({ minval: -0.5, maxval: 0.5, seed: 4 }),
      });
      const model = tf.sequential({ layers: [layer] });
      const kernel = model.trainableWeights[0]!.read() as tf.Variable;
      const x = tf.tensor(randomData(2 * 6 * 6 * 2, 41), [2, 6, 6, 2]);
      const w = tf.tensor(randomData(2 * 4 * 4 * 3, 42), [2, 4, 4, 3]);
      // ∂/∂kernel ‖∂L/∂x‖², L = Σ y·w: a gradient through the layer's gradient.
      const profile = await tf.profile(() => tf.variableGrads(() => {
        const dx = tf.grad((xi: tf.Tensor) => tf.sum(tf.mul(model.apply(xi) as tf.Tensor, w)))(x);
        return tf.sum(tf.square(dx)) as tf.Scalar;
      }, [kernel]).grads[kernel.name]!);
      const out = Float32Array.from((profile.result as tf.Tensor).dataSync());
      model.dispose();
      return { out, kernels: profile.kernels.map((k) => k.name) };
    };
    const reference = await secondOrder('cpu');
    const wasm = await secondOrder('wasm');
    expectClose(wasm.out, reference.out, 1e-4);
    expect(wasm.kernels).not.toContain(CONV2D_BIAS_RELU_KERNEL);
  });

  it('stays a Conv2D with the stock weight names', () => {
    const layer = conv2dReluLayer({ name: 'c1', filters: 2, kernelSize: 3, activation: 'relu', inputShape: [5, 5, 1] });
    const model = tf.sequential({ layers: [layer] });
    expect(layer.getClassName()).toBe('Conv2D');
    expect(layer.weights.map((w) => w.originalName)).toEqual(['c1/kernel', 'c1/bias']);
    model.dispose();
  });

  it('refuses what it does not implement', () => {
    expect(() => conv2dReluLayer({ filters: 1, kernelSize: 1 })).toThrow(/activation 'relu'/);
    expect(() => conv2dReluLayer({ filters: 1, kernelSize: 1, activation: 'relu', useBias: false })).toThrow(/needs a bias/);
    expect(() => conv2dReluLayer({ filters: 1, kernelSize: 1, activation: 'relu', dataFormat: 'channelsFirst' })).toThrow(/channelsLast/);
    expect(() => conv2dReluLayer({ filters: 1, kernelSize: 3, activation: 'relu', dilationRate: 2 })).toThrow(/dilation/);
  });
});
