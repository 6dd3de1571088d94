import * as tf from '@tensorflow/tfjs';
import { seededRandom, vbSettings } from '@fedward/models';
import { gaussianNoise, type RandomFill } from '@fedward/privacy';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { crossEntropy, normalizeImages, type LocalTraining, type LocalUpdateSimulation } from './simulate';

/**
 * The attacker's copy of a hospital's local training of small-cnn-vb (packages/models/src/
 * small-cnn-vb.ts: the small CNN, then PRECODE's variational bottleneck, then the head), as plain
 * differentiable TF.js ops on its named weights, like simulate.ts does for the small CNN:
 *   h = global max pool of the two conv blocks; [μ, log σ²] = h·W_enc + b_enc;
 *   z = μ + σ·ε; logits = (z·W_dec + b_dec)·W + b; loss = CE + β · mean_batch KL(N(μ, σ²) ‖ N(0, I)).
 *
 * Threat model (PRECODE, Scheliga et al. 2022): the server sees the update and knows the model,
 * its weights, β, K and the local training, but NOT the ε the hospital drew: they come from the
 * hospital's CSPRNG, fresh on every forward pass, and never leave it. So the simulation cannot
 * replay the hospital's forward passes. `noise` says what the attacker puts in their place:
 *   'mean': ε = 0, z = μ (the expected code; the KL term, which does not depend on ε, stays);
 *   { draws }: its own N(0, I) draws, fresh per step from the given source (a seeded one makes the
 *   attack reproducible), i.e. one sample of the stochastic update rather than its mean.
 * Neither equals the hospital's update: that mismatch is what PRECODE counts on.
 */

/** small-cnn-vb's tensors in getWeights order. */
export const SMALL_CNN_VB_WEIGHTS = [
  'conv1/kernel',
  'conv1/bias',
  'conv2/kernel',
  'conv2/bias',
  'vb_enc/kernel',
  'vb_enc/bias',
  'vb_dec/kernel',
  'vb_dec/bias',
  'logits/kernel',
  'logits/bias',
] as const;

/** What stands in for the hospital's unknown ε (see the module comment). */
export type AttackerNoise = 'mean' | { draws: RandomFill };

export function assertSmallCnnVb(spec: ModelSpec, weights: readonly NamedTensor[]): void {
  if (spec.kind !== 'small-cnn-vb') throw new Error(`simulate-vb rebuilds small-cnn-vb (got model '${spec.kind}')`);
  const names = weights.map((w) => w.name);
  if (names.join() !== SMALL_CNN_VB_WEIGHTS.join()) throw new Error(`unexpected small-cnn-vb weights: ${names.join(', ')}`);
}

/**
 * exp with a gradient recomputed from the saved input, for the same reason as simulate.ts's
 * private one: TF.js's Exp gradient reuses the saved output, which a gradient of that gradient
 * treats as a constant (wrong second derivatives, which the attack takes through σ and the KL).
 */
const exp = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return { value: tf.exp(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => tf.mul(dy, exp(saved[0]!)) };
}) as (x: tf.Tensor) => tf.Tensor;

export interface VbForward {
  logits: tf.Tensor2D;
  /** Per example KL(N(μ, σ²) ‖ N(0, I)), [N], unweighted. */
  kl: tf.Tensor1D;
}

/**
 * Logits and per-example KL for model inputs [N, H, W, C]. `epsilon` null gives z = μ: the
 * product's inference path (ModelEngine.predict), and the attacker's 'mean' choice in training.
 */
export function smallCnnVbForward(params: readonly tf.Tensor[], input: tf.Tensor4D, k: number, epsilon: tf.Tensor2D | null): VbForward {
  const [k1, b1, k2, b2, we, be, wd, bd, wl, bl] = params as [
    tf.Tensor4D, tf.Tensor1D, tf.Tensor4D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D, tf.Tensor2D, tf.Tensor1D,
  ];
  let h = tf.relu(tf.add(tf.conv2d(input, k1, 1, 'same'), b1)) as tf.Tensor4D;
  h = tf.maxPool(h, 2, 2, 'valid');
  h = tf.relu(tf.add(tf.conv2d(h, k2, 1, 'same'), b2)) as tf.Tensor4D;
  h = tf.maxPool(h, 2, 2, 'valid');
  const pooled = tf.max(h, [1, 2]) as tf.Tensor2D;
  const stats = tf.add(tf.matMul(pooled, we), be) as tf.Tensor2D;
  const mu = tf.slice(stats, [0, 0], [-1, k]);
  const logVar = tf.slice(stats, [0, k], [-1, k]);
  const z = epsilon ? tf.add(mu, tf.mul(exp(tf.mul(0.5, logVar)), epsilon)) : mu;
  const kl = tf.mul(0.5, tf.sum(tf.sub(tf.add(exp(logVar), tf.square(mu)), tf.add(1, logVar)), 1)) as tf.Tensor1D;
  const decoded = tf.add(tf.matMul(z, wd), bd) as tf.Tensor2D;
  return { logits: tf.add(tf.matMul(decoded, wl), bl) as tf.Tensor2D, kl };
}

/**
 * Δ = θ_S − θ_0 after `steps` plain SGD steps (the product's 'sgd', as simulateLocalUpdate) of
 * small-cnn-vb on images `x` ([N, H, W, C] in [0, 1]) with the training loss CE + β·mean KL,
 * with `noise` in place of the hospital's ε. Differentiable with respect to x (after
 * registerSecondOrderGradients).
 */
export function simulateLocalUpdateVb(
  spec: ModelSpec,
  params: readonly tf.Tensor[],
  x: tf.Tensor4D,
  labels: Int32Array,
  training: LocalTraining,
  noise: AttackerNoise,
): tf.Tensor[] {
  const { beta, k } = vbSettings(spec);
  const input = normalizeImages(x, training.normalization);
  const n = x.shape[0];
  let current: tf.Tensor[] = [...params];
  for (let step = 0; step < training.steps; step++) {
    // A constant of the attack (no gradient flows into ε), drawn outside the differentiated function.
    const epsilon = noise === 'mean' ? null : tf.tensor2d(gaussianNoise(n * k, 1, noise.draws), [n, k]);
    const grads = tf.grads((...w: tf.Tensor[]) => {
      const { logits, kl } = smallCnnVbForward(w, input, k, epsilon);
      return tf.add(crossEntropy(logits, labels, spec.numClasses), tf.mul(beta, tf.mean(kl))) as tf.Scalar;
    })(current);
    current = current.map((w, i) => tf.sub(w, tf.mul(training.learningRate, tf.add(grads[i]!, tf.mul(training.weightDecay, w)))));
  }
  return current.map((w, i) => tf.sub(w, params[i]!));
}

/**
 * simulateLocalUpdateVb as invert's `simulate`. With `{ draws }` the source is shared by every
 * call, so each attack iteration matches a fresh sample of the stochastic update (a noisy
 * objective); 'mean' gives one deterministic objective.
 */
export function vbSimulation(spec: ModelSpec, noise: AttackerNoise): LocalUpdateSimulation {
  return (params, x, labels, training) => simulateLocalUpdateVb(spec, params, x, labels, training, noise);
}

/**
 * A seeded ε source (mulberry32 via the models' seededRandom): the attacker's own reproducible
 * draws, or a test's stand-in for the hospital's CSPRNG. Never the product's source of ε.
 */
export function seededDraws(seed: number): RandomFill {
  const rand = seededRandom(seed);
  return (buffer: Uint32Array) => {
    for (let k = 0; k < buffer.length; k++) buffer[k] = Math.floor(rand() * 2 ** 32) >>> 0;
  };
}
