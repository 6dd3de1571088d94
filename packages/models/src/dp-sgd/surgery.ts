import type * as tf from '@tensorflow/tfjs';

/**
 * Model surgery's check: DP-SGD bounds what ONE record changes by clipping each record's own
 * gradient; a layer whose output for one example depends on the other examples of its batch
 * (batch normalisation with batch statistics, or running statistics updated from them) lets a
 * record reach other records' gradients and the released statistics, so the clip bounds nothing.
 */
const MIXING_LAYERS: Record<string, string> = {
  BatchNormalization: 'batch normalisation (batch statistics in training, running statistics learned from them)',
  FedwardBatchStatNorm: 'batch-statistics normalisation (every example is normalised with its batch)',
};

/** The layers that mix examples, each with why; empty when the model is fit for per-example clipping. */
export function examplesMixedBy(model: tf.LayersModel): { layer: string; className: string; why: string }[] {
  return model.layers
    .map((layer) => ({ layer: layer.name, className: layer.getClassName() }))
    .filter((l) => l.className in MIXING_LAYERS)
    .map((l) => ({ ...l, why: MIXING_LAYERS[l.className]! }));
}

/** Throws, naming the first offending layer and the fix, when the model mixes examples. */
export function assertPerExample(model: tf.LayersModel, kind: string): void {
  const mixed = examplesMixedBy(model);
  if (mixed.length === 0) return;
  const first = mixed[0]!;
  throw new Error(
    `DP-SGD needs layers that treat each example on its own; ${kind} has ${mixed.length} that do not, first "${first.layer}" (${first.className}: ${first.why}). ` +
      'Use a model without batch normalisation (small-cnn, small-cnn-vb), or a GroupNorm variant of this one.',
  );
}
