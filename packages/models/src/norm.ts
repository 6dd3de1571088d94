import * as tf from '@tensorflow/tfjs';

export const BATCH_STAT_NORM_EPSILON = 1e-5;

/**
 * "Batch-stat norm", the seed's `BatchNorm2d(C, affine=False, track_running_stats=False)`:
 *   y = (x − mean_{N,H,W}) / sqrt(var_{N,H,W} + 1e-5), biased variance, per channel,
 * always with the statistics of the batch it is given, in training and in evaluation alike.
 * It has no weights (no γ/β, no moving statistics), so it never appears in getWeights.
 */
export class BatchStatNorm extends tf.layers.Layer {
  static className = 'FedwardBatchStatNorm';

  constructor(args: { name?: string } = {}) {
    super(args);
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return batchStatNormalize(Array.isArray(inputs) ? inputs[0]! : inputs);
  }
}
tf.serialization.registerClass(BatchStatNorm);

/**
 * The layer's computation on a concrete NHWC tensor (statistics over every axis but the last).
 * Forward: tf.moments, then one FusedBatchNorm kernel (x − μ)·rsqrt(σ² + ε). Backward, written
 * out instead of differentiating moments' broadcast ops (far fewer kernels, each a direct loop
 * on cpu/wasm): with y the output and means over N, H, W,
 *   dx = rsqrt(σ² + ε) · (dy − mean(dy) − y · mean(dy · y)),
 * computed as batchNorm(dy, mean(dy), σ²) − batchNorm(y, 0, σ², scale = mean(dy · y)).
 */
export function batchStatNormalize(x: tf.Tensor): tf.Tensor {
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  const op = tf.customGrad((input, saveArg) => {
    const xi = input as tf.Tensor;
    const save = saveArg as tf.GradSaveFunc;
    const { mean, variance } = tf.moments(xi, axes, false);
    const y = tf.batchNorm(xi, mean, variance, undefined, undefined, BATCH_STAT_NORM_EPSILON);
    save([y, variance]);
    return {
      value: y,
      gradFunc: (dy, saved) => {
        const [yy, v] = saved as [tf.Tensor, tf.Tensor];
        const d = dy as tf.Tensor;
        const centered = tf.batchNorm(d, tf.mean(d, axes), v, undefined, undefined, BATCH_STAT_NORM_EPSILON);
        const correction = tf.batchNorm(yy, tf.zerosLike(v), v, undefined, tf.mean(tf.mul(d, yy), axes), BATCH_STAT_NORM_EPSILON);
        return [tf.sub(centered, correction)];
      },
    };
  });
  return op(x);
}
