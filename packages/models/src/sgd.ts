import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { buildDenseNet } from './densenet';
import { LayersEngine } from './engine';
import { weightName } from './init';
import type { Batch } from './types';
import { buildVggSlim } from './vgg-slim';

/** The seed's SGD weight decay (spec §2.6): torch adds wd·w to every parameter's gradient. */
export const SGD_WEIGHT_DECAY = 1e-6;

/** The classifiers the SGD engines (plain and DET) can build: those whose builder lives here. */
export function buildSgdClassifier(spec: ModelSpec): tf.LayersModel {
  switch (spec.kind) {
    case 'vgg-slim':
      return buildVggSlim(spec);
    case 'densenet':
      return buildDenseNet(spec);
    case 'small-cnn':
    case 'unet':
      throw new Error(`SGD/DET engines build 'vgg-slim' or 'densenet' classifiers (got '${spec.kind}')`);
  }
}

/** One model: the tf.LayersModel, a LayersEngine around it for weights and evaluation, its trainable variables. */
export interface ClassifierModel {
  model: tf.LayersModel;
  /** For get/set weights and evaluation (its own Adam is never used). */
  engine: LayersEngine;
  params: { name: string; variable: tf.Variable }[];
}

export function classifierModel(spec: ModelSpec): ClassifierModel {
  const model = buildSgdClassifier(spec);
  const engine = new LayersEngine(spec, model, 'classification');
  const params = model.layers.flatMap((layer) =>
    layer.weights
      .filter((w) => w.trainable)
      .map((w) => {
        const v = w.read();
        if (!(v instanceof tf.Variable)) throw new Error(`weight "${weightName(layer.name, w)}" is not backed by a tf.Variable`);
        return { name: weightName(layer.name, w), variable: v };
      }),
  );
  return { model, engine, params };
}

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

export function batchInputs(spec: ModelSpec, batch: Batch): tf.Tensor4D {
  return tf.tensor4d(batch.x, [batch.size, spec.inputSize, spec.inputSize, spec.channels]);
}
