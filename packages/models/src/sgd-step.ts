import * as tf from '@tensorflow/tfjs';

/** The seed's SGD weight decay (spec §2.6): torch adds wd·w to every parameter's gradient. */
export const SGD_WEIGHT_DECAY = 1e-6;

/**
 * torch.optim.SGD without momentum: d = g + wd·w; w ← w − lr·d, for every variable that has a
 * gradient (torch skips a parameter whose grad is None, weight decay included). Call inside tf.tidy.
 */
export function sgdStep(params: readonly { variable: tf.Variable }[], grads: tf.NamedTensorMap, learningRate: number, weightDecay: number): void {
  const lr = tf.scalar(learningRate);
  const wd = tf.scalar(weightDecay);
  for (const { variable } of params) {
    const g = grads[variable.name];
    if (!g) continue;
    variable.assign(tf.sub(variable, tf.mul(lr, tf.add(g, tf.mul(wd, variable)))));
  }
}
