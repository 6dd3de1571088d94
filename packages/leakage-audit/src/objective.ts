import * as tf from '@tensorflow/tfjs';

/**
 * 1 − cos(Δ_sim, Δ) over all parameter tensors jointly (breaching's "cosine similarity" objective:
 * one scalar product and one norm each over the concatenation of every tensor).
 */
export function matchingLoss(simulated: readonly tf.Tensor[], observed: readonly tf.Tensor[]): tf.Scalar {
  if (simulated.length !== observed.length) throw new Error(`${simulated.length} simulated tensors, ${observed.length} observed`);
  let dot: tf.Scalar = tf.scalar(0);
  let simSq: tf.Scalar = tf.scalar(0);
  let obsSq: tf.Scalar = tf.scalar(0);
  simulated.forEach((s, i) => {
    const o = observed[i]!;
    dot = tf.add(dot, tf.sum(tf.mul(s, o)));
    simSq = tf.add(simSq, tf.sum(tf.square(s)));
    obsSq = tf.add(obsSq, tf.sum(tf.square(o)));
  });
  // The norms as √(q + 1e-30): a model whose softmax saturates on the images (a DP-noised global
  // model can) simulates Δ = 0 exactly, where √'s derivative is infinite and ∇R would be NaN,
  // which clipping to [0, 1] turns into a blank image. Here R = 1 with a zero gradient instead.
  return tf.sub(1, tf.div(dot, tf.add(tf.mul(safeNorm(simSq), safeNorm(obsSq)), 1e-20)));
}

const safeNorm = (squares: tf.Scalar) => tf.sqrt(tf.add(squares, 1e-30));

/**
 * Anisotropic total variation of images [N, H, W, C]: mean |x[i, j+1] − x[i, j]| + mean |x[i+1, j] − x[i, j]|
 * (breaching's TotalVariation with its [0, −1, 1] difference kernels).
 */
export function totalVariation(x: tf.Tensor4D): tf.Scalar {
  const [, h, w] = x.shape;
  const dx = tf.sub(tf.slice(x, [0, 0, 1, 0], [-1, h, w - 1, -1]), tf.slice(x, [0, 0, 0, 0], [-1, h, w - 1, -1]));
  const dy = tf.sub(tf.slice(x, [0, 1, 0, 0], [-1, h - 1, w, -1]), tf.slice(x, [0, 0, 0, 0], [-1, h - 1, w, -1]));
  return tf.add(tf.mean(tf.abs(dx)), tf.mean(tf.abs(dy)));
}
