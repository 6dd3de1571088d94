import * as tf from '@tensorflow/tfjs';
import { FUSED_ADAM_KERNEL } from '../src/kernels/adam_update';

/** Attributes of step t of Adam with lr 1e-3 (as @fedward/models' AdamOptimizer computes them). */
export const adamAttrs = (t: number) => ({
  beta1: 0.9, oneMinusBeta1: 1 - 0.9, beta2: 0.999, oneMinusBeta2: 1 - 0.999,
  stepSize: 1e-3 / (1 - 0.9 ** t), invBc2Sqrt: 1 / Math.sqrt(1 - 0.999 ** t), epsilon: 1e-8,
});
export type AdamAttrs = ReturnType<typeof adamAttrs>;

/** The step op by op, each operation a tfjs kernel (the reference the fused kernel must equal to the bit). */
export function opByOpAdam(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, vmax: tf.Tensor | null, a: AdamAttrs): tf.Tensor[] {
  const m1 = tf.add(tf.mul(m, tf.scalar(a.beta1)), tf.mul(g, tf.scalar(a.oneMinusBeta1)));
  const v1 = tf.add(tf.mul(v, tf.scalar(a.beta2)), tf.mul(tf.square(g), tf.scalar(a.oneMinusBeta2)));
  const vh = vmax === null ? v1 : tf.maximum(vmax, v1);
  const denom = tf.add(tf.mul(tf.sqrt(vh), tf.scalar(a.invBc2Sqrt)), tf.scalar(a.epsilon));
  const p1 = tf.sub(p, tf.mul(tf.div(m1, denom), tf.scalar(a.stepSize)));
  return vmax === null ? [p1, m1, v1] : [p1, m1, v1, vh];
}

/** The same step in the package's fused kernel. */
export const fusedAdam = (p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, vmax: tf.Tensor | null, a: AdamAttrs): tf.Tensor[] =>
  tf.engine().runKernel(FUSED_ADAM_KERNEL, vmax === null ? { param: p, grad: g, m, v } : { param: p, grad: g, m, v, vmax },
    a as unknown as tf.NamedAttrMap) as unknown as tf.Tensor[];
