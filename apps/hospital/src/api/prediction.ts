/** What the model said about one slice, in the terms the page shows. */
export type Prediction =
  /** Classifiers: every class with its probability, most likely first. */
  | { kind: 'classes'; classes: ClassProbability[] }
  /** U-Net: each pixel's probability of being foreground (size × size), and the share counted as foreground. */
  | { kind: 'mask'; foreground: Float32Array; share: number };

export interface ClassProbability {
  label: string;
  probability: number;
}

/** Softmax of one row of logits, each with its label, most likely first. */
export function classProbabilities(logits: ArrayLike<number>, classes: readonly string[]): ClassProbability[] {
  const row = Array.from(logits);
  // Shifted by the largest logit so that exp never overflows.
  const top = Math.max(...row);
  const exps = row.map((l) => Math.exp(l - top));
  const sum = exps.reduce((a, b) => a + b, 0);
  return exps
    .map((e, k) => ({ label: classes[k] ?? `class ${k + 1}`, probability: e / sum }))
    .sort((a, b) => b.probability - a.probability);
}

/** Per-pixel sigmoid of a U-Net's logits; a pixel counts as foreground at ≥ 0.5, as in training's pixel accuracy. */
export function maskPrediction(logits: ArrayLike<number>): Extract<Prediction, { kind: 'mask' }> {
  const foreground = Float32Array.from(logits, (l) => 1 / (1 + Math.exp(-l)));
  const share = foreground.length ? foreground.filter((p) => p >= 0.5).length / foreground.length : 0;
  return { kind: 'mask', foreground, share };
}

/** A probability in whole percent, as the page shows it ("83 %"). */
export const percent = (p: number): string => `${Math.round(p * 100)} %`;
