/**
 * The seed's learning-rate schedule (utils.update_lr, spec 2.3): lr·gamma^floor(round/step), with fresh
 * SGD optimizers for both models at every round.
 */
export function prrflLearningRate(round: number, lr = 0.01, step = 5, gamma = 0.5): number {
  if (!Number.isInteger(round) || round < 0) throw new RangeError(`round must be a non-negative integer, got ${round}`);
  return lr * gamma ** Math.floor(round / step);
}
