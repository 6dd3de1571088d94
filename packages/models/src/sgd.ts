import * as tf from '@tensorflow/tfjs';
import type { ModelSpec } from '@fedward/protocol';
import { buildDenseNet } from './densenet';
import { LayersEngine } from './engine';
import type { Batch } from './types';

export { SGD_WEIGHT_DECAY, sgdStep } from './sgd-step';
import { buildVggSlim } from './vgg-slim';

/** The classifiers the DET engine can build: those whose builder lives here. */
export function buildSgdClassifier(spec: ModelSpec): tf.LayersModel {
  switch (spec.kind) {
    case 'vgg-slim':
      return buildVggSlim(spec);
    case 'densenet':
      return buildDenseNet(spec);
    case 'small-cnn':
    case 'small-cnn-vb':
    case 'unet':
      throw new Error(`DET engines build 'vgg-slim' or 'densenet' classifiers (got '${spec.kind}')`);
  }
}

/** One model: the tf.LayersModel, a LayersEngine around it for weights and evaluation, its trainable variables. */
export interface ClassifierModel {
  model: tf.LayersModel;
  /** For get/set weights and evaluation (its own optimizers are never used). */
  engine: LayersEngine;
  params: readonly { name: string; variable: tf.Variable }[];
}

export function classifierModel(spec: ModelSpec): ClassifierModel {
  const model = buildSgdClassifier(spec);
  const engine = new LayersEngine(spec, model, 'classification');
  return { model, engine, params: engine.params };
}

export function batchInputs(spec: ModelSpec, batch: Batch): tf.Tensor4D {
  return tf.tensor4d(batch.x, [batch.size, spec.inputSize, spec.inputSize, spec.channels]);
}
