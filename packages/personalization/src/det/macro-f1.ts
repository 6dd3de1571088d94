/**
 * Macro-averaged F1 as sklearn's `f1_score(average='macro')` computes it for the seed: the mean over the
 * labels present in either `truth` or `predicted` of 2·TP/(2·TP + FP + FN). Classes that never occur in
 * either list are not counted, so a client missing a class is not penalised for it. Returns a fraction
 * in [0, 1] (the seed reports ×100; DET only uses ratios).
 */
export function macroF1(truth: ArrayLike<number>, predicted: ArrayLike<number>): number {
  if (truth.length !== predicted.length) {
    throw new RangeError(`macroF1: ${truth.length} labels but ${predicted.length} predictions`);
  }
  if (truth.length === 0) throw new RangeError('macroF1: no samples');
  const counts = new Map<number, { tp: number; fp: number; fn: number }>();
  const entry = (label: number) => {
    let c = counts.get(label);
    if (!c) {
      c = { tp: 0, fp: 0, fn: 0 };
      counts.set(label, c);
    }
    return c;
  };
  for (let i = 0; i < truth.length; i++) {
    const t = truth[i]!;
    const p = predicted[i]!;
    if (t === p) {
      entry(t).tp++;
    } else {
      entry(t).fn++;
      entry(p).fp++;
    }
  }
  let sum = 0;
  for (const { tp, fp, fn } of counts.values()) sum += (2 * tp) / (2 * tp + fp + fn);
  return sum / counts.size;
}
