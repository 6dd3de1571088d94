import * as tf from '@tensorflow/tfjs';
import { NORMALIZE_KERNEL } from '../src/kernels/kernel_names';
import { conv2dReluLayer, maxPooling2dLayer, plainConv2dLayer } from '../src/layers';
// The product's own VGG-slim, from its source (as product-step.ts reaches the optimizer):
// @fedward/models depends on this package, so not as a dependency.
import { buildVggSlim } from '../../models/src/vgg-slim';

/**
 * Models trained by the benchmark and the end-to-end gradient tests: the
 * issue's reference CNN, and small stand-ins with the seeds' topologies
 * (U-Net with transposed convolutions and skip concatenations, DenseNet with
 * dense blocks, zero padding and average pooling), using batch-statistics
 * normalisation as the seeds do (BatchNorm2d with track_running_stats=False).
 */
export interface BenchModel {
  name: string;
  description: string;
  /** Square inputs of `size`×`size` pixels, one channel. */
  inputShape: [number, number, number];
  build(): tf.LayersModel;
  /** Mean loss of a batch of predictions against targets. */
  loss(target: tf.Tensor, prediction: tf.Tensor): tf.Scalar;
  /** Targets for `batch` samples, deterministic. */
  targets(batch: number): tf.Tensor;
}

/**
 * y = (x − mean)/sqrt(var + 1e-5) over batch and space, always with the
 * current batch's statistics and no affine parameters (seed 1's
 * `BatchNorm2d(C, affine=False, track_running_stats=False)`). Where the
 * backend has the fused kernel (wasm, this package's) it runs that, as
 * @fedward/models' BatchStatNorm does; elsewhere op by op.
 */
class BatchStatNorm extends tf.layers.Layer {
  static className = 'BatchStatNorm';

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      if (tf.getKernel(NORMALIZE_KERNEL, tf.getBackend()) !== undefined) {
        return (tf.engine().runKernel(NORMALIZE_KERNEL, { x }, { groups: 0, epsilon: 1e-5 }) as tf.Tensor[])[0]!;
      }
      const { mean, variance } = tf.moments(x, [0, 1, 2], true);
      return tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, 1e-5)));
    });
  }
}
tf.serialization.registerClass(BatchStatNorm);

const L = tf.layers;
type Sym = tf.SymbolicTensor;
const apply = (layer: tf.layers.Layer, x: Sym | Sym[]): Sym => layer.apply(x) as Sym;

function oneHot(batch: number, classes: number): tf.Tensor {
  return tf.oneHot(tf.tensor1d(Array.from({ length: batch }, (_, i) => i % classes), 'int32'), classes);
}

function crossEntropy(target: tf.Tensor, probabilities: tf.Tensor): tf.Scalar {
  return tf.mean(tf.metrics.categoricalCrossentropy(target, probabilities)) as tf.Scalar;
}

const seeded = (seed: number) => tf.initializers.glorotUniform({ seed });

/**
 * The model: 64×64×1 → conv3×3×16 → maxpool → conv3×3×32 → maxpool → dense 64 → dense 2,
 * its convolutions and pools as the product's small CNN runs them (conv2dReluLayer, maxPooling2dLayer).
 */
export const referenceCnn = (size = 64): BenchModel => ({
  name: 'cnn',
  description: `issue CNN ${size}×${size}×1, conv16-pool-conv32-pool-dense64-dense2`,
  inputShape: [size, size, 1],
  // Seeded weights: the tests that check the loss falls see the same start every run.
  build: () => tf.sequential({
    layers: [
      conv2dReluLayer({ inputShape: [size, size, 1], filters: 16, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(1) }),
      maxPooling2dLayer({ poolSize: 2 }),
      conv2dReluLayer({ filters: 32, kernelSize: 3, activation: 'relu', kernelInitializer: seeded(2) }),
      maxPooling2dLayer({ poolSize: 2 }),
      L.flatten(),
      L.dense({ units: 64, activation: 'relu', kernelInitializer: seeded(3) }),
      L.dense({ units: 2, activation: 'softmax', kernelInitializer: seeded(4) }),
    ],
  }),
  loss: crossEntropy,
  targets: (batch) => oneHot(batch, 2),
});

/**
 * Every weight of the U-Net and DenseNet stand-ins starts from a seed (numbered in build order, from
 * 1000 at each build): random initial weights made the cpu–wasm gradient comparison fail now and
 * then, on draws whose normalisations amplify float32 rounding past its tolerance.
 */
let initSeed = 1000;
const nextInit = () => seeded(initSeed++);

function convNormRelu(x: Sym, filters: number, kernelSize = 3): Sym {
  const y = apply(plainConv2dLayer({ filters, kernelSize, padding: 'same', useBias: false, kernelInitializer: nextInit() }), x);
  return apply(L.reLU(), apply(new BatchStatNorm({}), y));
}

/** Seed 1's prostate U-Net shrunk: features 8/16/32, two poolings, 2×2/2 up-convolutions. */
export const smallUnet = (size = 64): BenchModel => ({
  name: 'unet',
  description: `U-Net ${size}×${size}×1, features 8-16-32, batch-stat norm, conv2dTranspose, concat`,
  inputShape: [size, size, 1],
  build: () => {
    initSeed = 1000;
    const input = tf.input({ shape: [size, size, 1] });
    const double = (x: Sym, f: number) => convNormRelu(convNormRelu(x, f), f);
    const e1 = double(input, 8);
    const e2 = double(apply(L.maxPooling2d({ poolSize: 2 }), e1), 16);
    const bottom = double(apply(L.maxPooling2d({ poolSize: 2 }), e2), 32);
    const up = (x: Sym, skip: Sym, f: number) => double(apply(L.concatenate(), [
      apply(L.conv2dTranspose({ filters: f, kernelSize: 2, strides: 2, kernelInitializer: nextInit() }), x), skip]), f);
    const d2 = up(bottom, e2, 16);
    const d1 = up(d2, e1, 8);
    const logits = apply(L.conv2d({ filters: 1, kernelSize: 1, kernelInitializer: nextInit() }), d1);
    return tf.model({ inputs: input, outputs: logits });
  },
  loss: (target, logits) => tf.losses.sigmoidCrossEntropy(target, logits) as tf.Scalar,
  targets: (batch) => tf.tidy(() => {
    // A disc in the middle of each image: a fixed, learnable mask.
    const r = tf.range(0, size).sub((size - 1) / 2).square();
    const disc = r.reshape([size, 1]).add(r.reshape([1, size])).less((size * size) / 10).cast('float32');
    return tf.tile(disc.reshape([1, size, size, 1]), [batch, 1, 1, 1]);
  }),
});

/** Seed 1's ICH DenseNet shrunk: growth 12, blocks (2, 4), with its extra ZeroPad2d(2). */
export const smallDenseNet = (size = 64): BenchModel => ({
  name: 'densenet',
  description: `DenseNet ${size}×${size}×1, growth 12, blocks (2,4), batch-stat norm, zero-pad, avg-pool`,
  inputShape: [size, size, 1],
  build: () => {
    initSeed = 1000;
    const input = tf.input({ shape: [size, size, 1] });
    let x = apply(plainConv2dLayer({ filters: 24, kernelSize: 7, strides: 2, padding: 'same', useBias: false, kernelInitializer: nextInit() }), input);
    x = apply(L.reLU(), apply(new BatchStatNorm({}), x));
    x = apply(L.maxPooling2d({ poolSize: 3, strides: 2, padding: 'same' }), x);
    const block = (h: Sym, layers: number): Sym => {
      for (let i = 0; i < layers; i++) {
        const bottleneck = convNormRelu(apply(L.reLU(), apply(new BatchStatNorm({}), h)), 48, 1);
        h = apply(L.concatenate(), [h, convNormRelu(bottleneck, 12)]);
      }
      return h;
    };
    x = block(x, 2);
    x = apply(L.zeroPadding2d({ padding: 2 }), x);
    x = apply(plainConv2dLayer({ filters: 24, kernelSize: 1, useBias: false, kernelInitializer: nextInit() }), apply(L.reLU(), apply(new BatchStatNorm({}), x)));
    x = apply(L.averagePooling2d({ poolSize: 2 }), x);
    x = block(x, 4);
    x = apply(L.globalAveragePooling2d({}), apply(L.reLU(), apply(new BatchStatNorm({}), x)));
    const out = apply(L.dense({ units: 2, activation: 'softmax', kernelInitializer: nextInit() }), x);
    return tf.model({ inputs: input, outputs: out });
  },
  loss: crossEntropy,
  targets: (batch) => oneHot(batch, 2),
});

/**
 * The shipped VGG-slim itself (@fedward/models, width 8, tf.layers BatchNormalization with moving
 * statistics), not a stand-in; its PyTorch twin is torch_train.py's VggSlim.
 */
export const productVggSlim = (size = 64): BenchModel => ({
  name: 'vgg-slim',
  description: `VGG-slim ${size}×${size}×1 (@fedward/models), width 8, BatchNorm with moving statistics`,
  inputShape: [size, size, 1],
  build: () => buildVggSlim({ kind: 'vgg-slim', inputSize: size, channels: 1, numClasses: 2, seed: 1 }),
  loss: (target, logits) => tf.losses.softmaxCrossEntropy(target, logits) as tf.Scalar,
  targets: (batch) => oneHot(batch, 2),
});

/** Every model at a given input size (the benchmark uses 64). */
export const benchModels = (size = 64): BenchModel[] => [referenceCnn(size), smallUnet(size), smallDenseNet(size), productVggSlim(size)];

/** Deterministic inputs: class-dependent brightness so that training can make progress. */
export function benchInputs(model: BenchModel, batch: number): tf.Tensor4D {
  return tf.tidy(() => {
    const [h, w, c] = model.inputShape;
    const noise = tf.randomUniform([batch, h, w, c], 0, 1, 'float32', 7);
    const shift = tf.tensor1d(Array.from({ length: batch }, (_, i) => (i % 2) * 0.5)).reshape([batch, 1, 1, 1]);
    return tf.add(noise, shift) as tf.Tensor4D;
  });
}

/**
 * One step of the project's training loop: forward in training mode, loss,
 * gradients and Adam update through `optimizer.minimize`. Returns the loss.
 */
export function trainStep(
  model: tf.LayersModel, spec: BenchModel, optimizer: tf.Optimizer, x: tf.Tensor, y: tf.Tensor,
): tf.Scalar {
  const cost = optimizer.minimize(() => spec.loss(y, model.apply(x, { training: true }) as tf.Tensor), true);
  if (cost === null) throw new Error('optimizer.minimize returned no cost');
  return cost;
}
