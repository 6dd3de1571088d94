/**
 * DET losses in TF.js (spec 2.5, local_train.py L81–127). Kept apart from the rest of the package so that
 * the server can import PFA without loading TF.js; import from `@fedward/personalization/det-losses`.
 */
import * as tf from '@tensorflow/tfjs';
import type { DetDistillation } from './stage';

/**
 * Identity forward, zero gradient: the teacher's logits act as a constant target, like `.detach()` in the
 * seed. This matters beyond correctness of the student's gradient: `optimizer.minimize` without a var list
 * would otherwise push gradients into the teacher's variables, and it is what makes
 * ∇(L_p + L_d) split exactly into ∇L_p for the personalized and ∇L_d for the deputy model.
 */
const detach = tf.customGrad((x) => ({
  value: (x as tf.Tensor).clone(),
  gradFunc: (dy) => tf.zerosLike(dy),
}));

/** Mean cross-entropy of logits [B, C] against integer class labels [B] (torch `CrossEntropyLoss()`). */
export function crossEntropy(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.tidy(() => {
    const [batch, classes] = logits.shape;
    const oneHot = tf.oneHot(labels.toInt(), classes);
    return tf.neg(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)))).div(batch);
  });
}

/**
 * KL(q ‖ p) with q = softmax(teacher), p = softmax(student), temperature 1, summed over classes and divided
 * by the batch size: `F.kl_div(log_softmax(student), softmax(teacher.detach()), reduction='batchmean')`.
 * log q comes from logSoftmax rather than log(softmax), so a class whose probability underflows to 0
 * contributes 0·finite = 0 (torch's xlogy convention) instead of NaN.
 */
export function distillationKl(studentLogits: tf.Tensor2D, teacherLogits: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const logQ = tf.logSoftmax(detach(teacherLogits) as tf.Tensor2D);
    const logP = tf.logSoftmax(studentLogits);
    return tf.sum(tf.mul(tf.exp(logQ), tf.sub(logQ, logP))).div(studentLogits.shape[0]);
  });
}

export interface DetLosses {
  personalized: tf.Scalar;
  deputy: tf.Scalar;
}

/**
 * Both models' losses for one batch: cross-entropy, plus the KL towards the other model where
 * `distill` (from `detDistillation`) says so. Each model steps with its own optimizer on its own loss.
 */
export function detLosses(
  logits: { personalized: tf.Tensor2D; deputy: tf.Tensor2D },
  labels: tf.Tensor1D,
  distill: DetDistillation,
): DetLosses {
  return tf.tidy(() => {
    let personalized = crossEntropy(logits.personalized, labels);
    if (distill.personalized) personalized = personalized.add(distillationKl(logits.personalized, logits.deputy));
    let deputy = crossEntropy(logits.deputy, labels);
    if (distill.deputy) deputy = deputy.add(distillationKl(logits.deputy, logits.personalized));
    return { personalized, deputy };
  });
}
