import * as tf from '@tensorflow/tfjs';
import { GROUP_NORM_CLASS, GROUP_NORM_EPSILON, GROUP_NORM_MAX_GROUPS, groupNormGroups } from './group-norm-groups';

export const BATCH_STAT_NORM_EPSILON = 1e-5;

/**
 * An optional fused kernel for both normalisations below, which a backend package may register
 * (packages/wasm-training does, for 'wasm', with its gradient). Input {x} float32 [N, …, C],
 * attrs {groups, epsilon}: groups 0 normalises with batch statistics per channel (over N and
 * every position), groups g ≥ 1 per example and group of C/g contiguous channels:
 *   y = (x − mean) / sqrt(var + epsilon), biased variance;
 * outputs [y, rsqrt(var + epsilon)] (that second one [C] or [N, g]). Its registered gradient
 * must be the one written out below, dx = rsqrt(σ² + ε)·(dy − mean(dy) − y·mean(dy·y)).
 * Op by op each direction is half a dozen full passes over the activation; fused, two.
 */
export const NORMALIZE_KERNEL = 'FedwardNormalize';

/** [y, rsqrt(σ² + ε)] of the fused kernel where the active backend has it (float32 only), else null. */
export function fusedNormalizeOutputs(x: tf.Tensor, groups: number, epsilon: number): [tf.Tensor, tf.Tensor] | null {
  if (x.dtype !== 'float32' || tf.getKernel(NORMALIZE_KERNEL, tf.getBackend()) === undefined) return null;
  return tf.engine().runKernel(NORMALIZE_KERNEL, { x }, { groups, epsilon }) as [tf.Tensor, tf.Tensor];
}

/** y of the fused kernel where the active backend has it (float32 only), else null. */
function fusedNormalize(x: tf.Tensor, groups: number, epsilon: number): tf.Tensor | null {
  const outputs = fusedNormalizeOutputs(x, groups, epsilon);
  if (outputs === null) return null;
  outputs[1].dispose();
  return outputs[0];
}

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
 * The layer's computation on a concrete NHWC tensor (statistics over every axis but the last):
 * the fused NORMALIZE_KERNEL where the backend has one; otherwise forward: tf.moments, then one FusedBatchNorm kernel (x − μ)·rsqrt(σ² + ε). Backward, written
 * out instead of differentiating moments' broadcast ops (far fewer kernels, each a direct loop
 * on cpu/wasm): with y the output and means over N, H, W,
 *   dx = rsqrt(σ² + ε) · (dy − mean(dy) − y · mean(dy · y)),
 * computed as batchNorm(dy, mean(dy), σ²) − batchNorm(y, 0, σ², scale = mean(dy · y)).
 */
export function batchStatNormalize(x: tf.Tensor): tf.Tensor {
  const fused = fusedNormalize(x, 0, BATCH_STAT_NORM_EPSILON);
  if (fused !== null) return fused;
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

export { GROUP_NORM_EPSILON, GROUP_NORM_MAX_GROUPS, groupNormGroups } from './group-norm-groups';

/**
 * GroupNorm (Wu & He 2018) with per-example statistics, for DP-SGD (which clips each example's own
 * gradient, so no layer may mix the examples of a batch). Input NHWC [N, H, W, C] (or any
 * [N, …, C]) or rank 2 [N, C]. The C channels are split into G contiguous groups
 * (G = groupNormGroups(C, groups); 1 for rank 2, i.e. LayerNorm over the features); each example is
 * normalised per group over its own positions and the group's channels:
 *   y = (x − mean_{H,W,C/G}) / sqrt(var_{H,W,C/G} + 1e-5) · γ_c + β_c      (biased variance)
 * with γ (ones) and β (zeros) per channel, weights `<layer>/gamma` and `<layer>/beta` (the names
 * FedBN and PFA take for normalisation tensors). The same in training and evaluation, and one
 * example's output depends on that example only. Registered as `FedwardGroupNorm`.
 */
export class GroupNorm extends tf.layers.Layer {
  static className = GROUP_NORM_CLASS;
  /** The most groups (the layer uses the largest divisor of C up to this). */
  readonly groups: number;
  readonly epsilon: number;
  private gamma: tf.LayerVariable | null = null;
  private beta: tf.LayerVariable | null = null;

  constructor(args: { name?: string; groups?: number; epsilon?: number } = {}) {
    super(args);
    this.groups = args.groups ?? GROUP_NORM_MAX_GROUPS;
    this.epsilon = args.epsilon ?? GROUP_NORM_EPSILON;
    if (!(Number.isInteger(this.groups) && this.groups >= 1)) throw new Error(`GroupNorm groups must be a whole number ≥ 1 (got ${this.groups})`);
  }

  override build(inputShape: tf.Shape | tf.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tf.Shape;
    const channels = shape[shape.length - 1];
    if (shape.length < 2 || typeof channels !== 'number') throw new Error(`GroupNorm "${this.name}" needs a known last (channel) axis, got [${shape.join(', ')}]`);
    this.gamma = this.addWeight('gamma', [channels], 'float32', tf.initializers.ones());
    this.beta = this.addWeight('beta', [channels], 'float32', tf.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    return shape;
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs;
      const channels = x.shape[x.rank - 1]!;
      const groups = x.rank === 2 ? 1 : groupNormGroups(channels, this.groups);
      const y = groupNormalize(x, groups, this.epsilon);
      return tf.add(tf.mul(y, this.gamma!.read()), this.beta!.read());
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), groups: this.groups, epsilon: this.epsilon };
  }
}
tf.serialization.registerClass(GroupNorm);

/**
 * GroupNorm's normalisation without γ/β on x [N, …, C] with `groups` contiguous channel groups:
 * statistics per example and group (the fused NORMALIZE_KERNEL where the backend has one). Backward written out as for the batch-stat norm, with the
 * means over each example's group: dx = rsqrt(σ² + ε) · (dy − mean(dy) − y · mean(dy · y)).
 */
export function groupNormalize(x: tf.Tensor, groups: number, epsilon = GROUP_NORM_EPSILON): tf.Tensor {
  const n = x.shape[0]!;
  const channels = x.shape[x.rank - 1]!;
  if (channels % groups !== 0) throw new Error(`GroupNorm: ${channels} channels do not split into ${groups} groups`);
  const fused = fusedNormalize(x, groups, epsilon);
  if (fused !== null) return fused;
  const grouped = [n, -1, groups, channels / groups];
  const axes = [1, 3];
  const op = tf.customGrad((input, saveArg) => {
    const xi = tf.reshape(input as tf.Tensor, grouped);
    const save = saveArg as tf.GradSaveFunc;
    const { mean, variance } = tf.moments(xi, axes, true);
    const r = tf.rsqrt(tf.add(variance, epsilon));
    const y = tf.mul(tf.sub(xi, mean), r);
    save([y, r]);
    return {
      value: tf.reshape(y, x.shape),
      gradFunc: (dy, saved) => {
        const [yy, rr] = saved as [tf.Tensor, tf.Tensor];
        const d = tf.reshape(dy as tf.Tensor, grouped);
        const centred = tf.sub(d, tf.mean(d, axes, true));
        const dx = tf.mul(rr, tf.sub(centred, tf.mul(yy, tf.mean(tf.mul(d, yy), axes, true))));
        return [tf.reshape(dx, x.shape)];
      },
    };
  });
  return op(x);
}
