import * as tf from '@tensorflow/tfjs';

export const DICE_SMOOTH = 1e-5;

/**
 * Per-image soft Dice of logits against a mask, as the seed computes it (`utils/loss.py`):
 *   p = sigmoid(logit);  Dice = (2·Σ p·g + 1e-5) / (Σ p + Σ g + 1e-5), sums over H, W (and C).
 * `logits` and `mask` are [N, H, W, 1] (or any shape with the batch first); returns [N].
 */
export function softDice(logits: tf.Tensor, mask: tf.Tensor): tf.Tensor1D {
  return tf.tidy(() => {
    const n = logits.shape[0]!;
    const p = tf.reshape(tf.sigmoid(logits), [n, -1]);
    const g = tf.reshape(mask, [n, -1]);
    const intersection = tf.sum(tf.mul(p, g), 1);
    const denominator = tf.add(tf.add(tf.sum(p, 1), tf.sum(g, 1)), DICE_SMOOTH);
    return tf.div(tf.add(tf.mul(intersection, 2), DICE_SMOOTH), denominator) as tf.Tensor1D;
  });
}

/** The training loss: 1 − mean per-image soft Dice. */
export function softDiceLoss(logits: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() => tf.sub(1, tf.mean(softDice(logits, mask))) as tf.Scalar);
}

/** Pixels where (sigmoid(logit) ≥ 0.5) equals (mask ≥ 0.5), i.e. logit ≥ 0; a scalar count. */
export function pixelHits(logits: tf.Tensor, mask: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.sum(tf.cast(tf.equal(tf.greaterEqual(logits, 0), tf.greaterEqual(mask, 0.5)), 'float32')) as tf.Scalar,
  );
}
