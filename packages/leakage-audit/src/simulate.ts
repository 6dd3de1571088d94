import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';

/**
 * The attacker's copy of the hospital's local training, as plain differentiable TF.js ops.
 *
 * The product's small CNN (packages/models/src/small-cnn.ts) is rebuilt here as a function of its
 * named weights, so the update can be differentiated with respect to the images without touching
 * the tf.LayersModel inside @fedward/models: conv3×3×8 (same, ReLU) → maxpool 2 → conv3×3×16
 * (same, ReLU) → maxpool 2 → global max pool → dense K. test/simulate.test.ts checks the forward
 * against ModelEngine.predict and the update against ModelEngine.trainEpoch with optimizer 'sgd'.
 */

/** The small CNN's tensors in getWeights order. */
export const SMALL_CNN_WEIGHTS = ['conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'logits/kernel', 'logits/bias'] as const;

export type SmallCnnParams = readonly tf.Tensor[];

/** What the attacker knows of the hospital's local training (all shared with the update in FL). */
export interface LocalTraining {
  learningRate: number;
  /** Local optimizer steps, each on the whole batch of images (the product trains one step per batch). */
  steps: number;
  /** torch-style weight decay of the product's 'sgd' optimizer (SGD_WEIGHT_DECAY, 1e-6). */
  weightDecay: number;
  /** How the hospital normalises a slice before the model sees it (ModelSpec.normalization). */
  normalization: 'unit' | 'zscore';
}

/**
 * The attacker's copy of a hospital's local training: the update Δ from images x ([N, H, W, C] in
 * [0, 1]), differentiable with respect to x; what invert matches against the observed Δ. The small
 * CNN's is simulateLocalUpdate; simulate-vb.ts has small-cnn-vb's.
 */
export type LocalUpdateSimulation = (params: readonly tf.Tensor[], x: tf.Tensor4D, labels: Int32Array, training: LocalTraining) => tf.Tensor[];

export function assertSmallCnn(spec: ModelSpec, weights: readonly NamedTensor[]): void {
  if (spec.kind !== 'small-cnn') throw new Error(`the leakage audit simulates the small CNN only for now (got model '${spec.kind}'): not yet`);
  const names = weights.map((w) => w.name);
  if (names.join() !== SMALL_CNN_WEIGHTS.join()) throw new Error(`unexpected small-cnn weights: ${names.join(', ')}`);
}

export function paramsFromWeights(weights: readonly NamedTensor[]): tf.Tensor[] {
  return weights.map((w) => tf.tensor(w.values, w.shape, 'float32'));
}

/**
 * The model input from [0, 1] pixels [N, H, W, C], as the hospital computes it (data/preprocess
 * normalizeSlice): 'zscore' gives each image mean 0 and (population) standard deviation 1.
 */
export function normalizeImages(x: tf.Tensor4D, normalization: LocalTraining['normalization']): tf.Tensor4D {
  if (normalization === 'unit') return x;
  const mean = tf.mean(x, [1, 2, 3], true);
  const centred = tf.sub(x, mean);
  // + 1e-12: the product divides by 1 for a constant slice; this keeps the gradient finite there.
  const sd = tf.sqrt(tf.add(tf.mean(tf.square(centred), [1, 2, 3], true), 1e-12));
  return tf.div(centred, sd) as tf.Tensor4D;
}

/**
 * The small CNN's logits [N, K] for model inputs [N, H, W, C]. With `temperature` t > 0 (the
 * attack's homotopy, invert's `homotopy`), every ReLU becomes t·softplus(x/t) and every max
 * pool (the 2×2 ones and the global one) t·log Σ exp(x/t) over its window: smooth versions that
 * tend to the exact ops as t → 0, so that the attacker's objective is not piecewise in which
 * pixel wins each window; t = 0 is the model itself.
 */
export function smallCnnLogits(params: SmallCnnParams, input: tf.Tensor4D, temperature = 0): tf.Tensor2D {
  const [k1, b1, k2, b2, wd, bd] = params as [tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D];
  const relu = (x: tf.Tensor4D) => (temperature > 0 ? softRelu(x, temperature) : (tf.relu(x) as tf.Tensor4D));
  const pool = (x: tf.Tensor4D) => (temperature > 0 ? softMaxPool2(x, temperature) : tf.maxPool(x, 2, 2, 'valid'));
  let h = relu(tf.add(tf.conv2d(input, k1, 1, 'same'), b1));
  h = pool(h);
  h = relu(tf.add(tf.conv2d(h, k2, 1, 'same'), b2));
  h = pool(h);
  const pooled = (temperature > 0 ? softMaximum(tf.reshape(h, [h.shape[0], -1, h.shape[3]]), 1, temperature) : tf.max(h, [1, 2])) as tf.Tensor2D;
  return tf.add(tf.matMul(pooled, wd), bd) as tf.Tensor2D;
}

/** t·softplus(x/t) = relu(x) + t·log(1 + exp(−|x|/t)), overflow-free, second-order-correct. */
function softRelu(x: tf.Tensor4D, t: number): tf.Tensor4D {
  return tf.add(tf.relu(x), tf.mul(t, tf.log(tf.add(1, expSavingInput(tf.div(tf.neg(tf.abs(x)), t)))))) as tf.Tensor4D;
}

/** t·log Σ exp(x/t) over `axis` (dropped), with the maximum taken out first for range. */
function softMaximum(x: tf.Tensor, axis: number, t: number): tf.Tensor {
  const m = tf.max(x, axis, true);
  return tf.squeeze(tf.add(m, tf.mul(t, tf.log(tf.sum(expSavingInput(tf.div(tf.sub(x, m), t)), axis, true)))), [axis]);
}

/** The soft 2×2/2 'valid' max pool of [N, H, W, C] (an odd last row or column dropped, as maxPool does). */
function softMaxPool2(x: tf.Tensor4D, t: number): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const even = h % 2 === 0 && w % 2 === 0 ? x : tf.slice(x, [0, 0, 0, 0], [n, h - (h % 2), w - (w % 2), c]);
  const [hh, ww] = [Math.floor(h / 2), Math.floor(w / 2)];
  // [N, H/2, 2, W/2, 2, C] → windows on axes 2 and 4, gathered into one axis of 4.
  const windows = tf.reshape(tf.transpose(tf.reshape(even, [n, hh, 2, ww, 2, c]), [0, 1, 3, 5, 2, 4]), [n, hh, ww, c, 4]);
  return softMaximum(windows, 4, t) as tf.Tensor4D;
}

/**
 * exp whose gradient recomputes exp from the saved INPUT. TF.js's own Exp gradient multiplies by
 * the saved OUTPUT, and the engine saves outputs through a clone that it records on the tape
 * before the op that makes them, so a gradient of that gradient treats exp(x) as a constant
 * (silently wrong second derivatives; test/second-order.test.ts shows it).
 */
const expSavingInput = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return { value: tf.exp(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, tf.exp(saved[0]!)) };
}) as (x: tf.Tensor) => tf.Tensor;

/** log Σ exp over the last axis of [N, K], kept as [N, 1], with second-order-correct gradients. */
export function logSumExp(x: tf.Tensor2D): tf.Tensor2D {
  const m = tf.max(x, 1, true);
  return tf.add(m, tf.log(tf.sum(expSavingInput(tf.sub(x, m)), 1, true))) as tf.Tensor2D;
}

/** Mean softmax cross-entropy, written with ops that all have correct second-order gradients. */
export function crossEntropy(logits: tf.Tensor2D, labels: Int32Array, numClasses: number): tf.Scalar {
  const onehot = tf.oneHot(tf.tensor1d(labels, 'int32'), numClasses);
  const logp = tf.sub(logits, logSumExp(logits));
  return tf.neg(tf.mean(tf.sum(tf.mul(onehot, logp), 1))) as tf.Scalar;
}

/**
 * Δ = θ_S − θ_0 after `steps` plain SGD steps (the product's 'sgd': w ← w − lr·(g + wd·w)) on the
 * images `x` ([N, H, W, C] in [0, 1]) with `labels`, from the global weights `params`. Differentiable
 * with respect to x (after registerSecondOrderGradients). Adam/AMSGrad, the product's default
 * optimizer, would make each step's direction g/√v: harder to invert, not simulated yet.
 */
export function simulateLocalUpdate(
  params: SmallCnnParams,
  x: tf.Tensor4D,
  labels: Int32Array,
  training: LocalTraining,
  numClasses: number,
  temperature = 0,
): tf.Tensor[] {
  const input = normalizeImages(x, training.normalization);
  let current: tf.Tensor[] = [...params];
  for (let step = 0; step < training.steps; step++) {
    const grads = tf.grads((...w: tf.Tensor[]) => crossEntropy(smallCnnLogits(w, input, temperature), labels, numClasses))(current);
    current = current.map((w, i) => tf.sub(w, tf.mul(training.learningRate, tf.add(grads[i]!, tf.mul(training.weightDecay, w)))));
  }
  return current.map((w, i) => tf.sub(w, params[i]!));
}
