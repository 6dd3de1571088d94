import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { crossEntropy, detLosses, distillationKl } from '../src/det/losses';
import { detDistillation } from '../src/index';
import { seededRandom } from './random';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const B = 6;
const C = 3;
const rand = seededRandom(31);
const randomLogits = () => Array.from({ length: B }, () => Array.from({ length: C }, () => 6 * rand() - 3));
const labels = Array.from({ length: B }, (_, i) => i % C);

// Float64 references written straight from the definitions.
const logSoftmax = (row: number[]) => {
  const max = Math.max(...row);
  const lse = max + Math.log(row.reduce((s, v) => s + Math.exp(v - max), 0));
  return row.map((v) => v - lse);
};
const refCe = (logits: number[][]) =>
  -logits.reduce((s, row, i) => s + logSoftmax(row)[labels[i]!]!, 0) / logits.length;
const refKl = (student: number[][], teacher: number[][]) =>
  teacher.reduce((s, row, i) => {
    const logQ = logSoftmax(row);
    const logP = logSoftmax(student[i]!);
    return s + logQ.reduce((t, lq, c) => t + Math.exp(lq) * (lq - logP[c]!), 0);
  }, 0) / teacher.length;

const scalar = (t: tf.Scalar) => t.dataSync()[0]!;

describe('DET losses on the cpu backend', () => {
  const p = randomLogits();
  const d = randomLogits();
  const y = tf.tensor1d(labels, 'int32');

  it('cross-entropy and KL(q‖p) match float64 references', () => {
    expect(scalar(crossEntropy(tf.tensor2d(p), y))).toBeCloseTo(refCe(p), 5);
    expect(scalar(distillationKl(tf.tensor2d(p), tf.tensor2d(d)))).toBeCloseTo(refKl(p, d), 5);
    // KL is not symmetric: the teacher is the first argument of the reference.
    expect(Math.abs(refKl(p, d) - refKl(d, p))).toBeGreaterThan(1e-3);
  });

  const stages = ['recover', 'exchange', 'sublimate'] as const;
  it.each(stages)('%s: each model gets CE plus the KL the table gives it', (stage) => {
    const distill = detDistillation(stage, 5);
    const losses = detLosses({ personalized: tf.tensor2d(p), deputy: tf.tensor2d(d) }, y, distill);
    expect(scalar(losses.personalized)).toBeCloseTo(refCe(p) + (distill.personalized ? refKl(p, d) : 0), 5);
    expect(scalar(losses.deputy)).toBeCloseTo(refCe(d) + (distill.deputy ? refKl(d, p) : 0), 5);
  });

  it('detaches the teacher: no gradient reaches it, and the student gets (softmax(s) − q)/B', () => {
    const [gStudent, gTeacher] = tf.grads((s: tf.Tensor, t: tf.Tensor) =>
      distillationKl(s as tf.Tensor2D, t as tf.Tensor2D),
    )([tf.tensor2d(p), tf.tensor2d(d)]);
    expect(Array.from(gTeacher!.dataSync()).every((v) => v === 0)).toBe(true);
    const expected = p.flatMap((row, i) => {
      const logP = logSoftmax(row);
      const logQ = logSoftmax(d[i]!);
      return logP.map((lp, c) => (Math.exp(lp) - Math.exp(logQ[c]!)) / B);
    });
    Array.from(gStudent!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(expected[i]!, 6));
  });

  it('in mutual training the summed loss splits into each model’s own gradient', () => {
    const both = { personalized: true, deputy: true };
    const [gp, gd] = tf.grads((a: tf.Tensor, b: tf.Tensor) => {
      const l = detLosses({ personalized: a as tf.Tensor2D, deputy: b as tf.Tensor2D }, y, both);
      return l.personalized.add(l.deputy);
    })([tf.tensor2d(p), tf.tensor2d(d)]);
    const lossOf = (a: tf.Tensor, b: tf.Tensor) =>
      detLosses({ personalized: a as tf.Tensor2D, deputy: b as tf.Tensor2D }, y, both);
    const gpOwn = tf.grad((a: tf.Tensor) => lossOf(a, tf.tensor2d(d)).personalized)(tf.tensor2d(p));
    const gdOwn = tf.grad((b: tf.Tensor) => lossOf(tf.tensor2d(p), b).deputy)(tf.tensor2d(d));
    Array.from(gp!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(gpOwn.dataSync()[i]!, 7));
    Array.from(gd!.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(gdOwn.dataSync()[i]!, 7));
  });

  it('stays finite when the teacher puts (numerically) zero mass on a class', () => {
    const teacher = tf.tensor2d([[200, 0, -200]]);
    const student = tf.tensor2d([[0.5, 0.2, -0.1]]);
    const kl = scalar(distillationKl(student, teacher));
    expect(Number.isFinite(kl)).toBe(true);
    expect(kl).toBeCloseTo(refKl([[0.5, 0.2, -0.1]], [[200, 0, -200]]), 4);
  });
});
