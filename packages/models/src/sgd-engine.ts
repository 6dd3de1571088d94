import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { macroF1 } from '@fedward/personalization';
import { SGD_WEIGHT_DECAY, batchInputs, classifierModel, sgdStep, type ClassifierModel } from './sgd';
import type { BatchProgress, Dataset, EpochResult, Metrics } from './types';

export interface SgdTrainEpochOptions {
  epoch: number;
  batchSize: number;
  learningRate: number;
  shuffleSeed?: number;
  /** Default SGD_WEIGHT_DECAY (1e-6, the seed's). */
  weightDecay?: number;
}

/**
 * One classifier trained with the seed's plain SGD (weight decay, no momentum, so no optimizer
 * state): what FedAvg and FedBN train with in PRR-FL's comparison, next to DET's two models.
 */
export interface SgdEngine {
  readonly spec: ModelSpec;
  readonly backend: string;
  getWeights(): NamedTensor[];
  setWeights(weights: readonly NamedTensor[]): void;
  /** One pass over `data`, one SGD step per batch (cross-entropy), yielding after every batch. */
  trainEpoch(data: Dataset, o: SgdTrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult>;
  /** Evaluation mode (moving statistics); `macroF1` is sklearn's macro-F1 as a fraction in [0, 1]. */
  evaluate(data: Dataset, batchSize?: number): Promise<Metrics & { macroF1: number }>;
  dispose(): void;
}

class PlainSgdEngine implements SgdEngine {
  private readonly m: ClassifierModel;

  constructor(readonly spec: ModelSpec) {
    this.m = classifierModel(spec);
  }

  get backend(): string {
    return tf.getBackend();
  }

  getWeights(): NamedTensor[] {
    return this.m.engine.getWeights();
  }

  setWeights(weights: readonly NamedTensor[]): void {
    this.m.engine.setWeights(weights);
  }

  async *trainEpoch(data: Dataset, o: SgdTrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult> {
    const weightDecay = o.weightDecay ?? SGD_WEIGHT_DECAY;
    const varList = this.m.params.map((p) => p.variable);
    const batches = Math.ceil(data.size / o.batchSize);
    let lossSum = 0;
    let samples = 0;
    let index = 0;
    for await (const batch of data.batches(o.batchSize, { shuffleSeed: o.shuffleSeed })) {
      const lossTensor = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => {
          const logits = this.m.model.apply(batchInputs(this.spec, batch), { training: true }) as tf.Tensor2D;
          const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.spec.numClasses);
          return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
        }, varList);
        sgdStep(this.m.params, grads, o.learningRate, weightDecay);
        return value;
      });
      const loss = (await lossTensor.data())[0]!;
      lossTensor.dispose();
      lossSum += loss * batch.size;
      samples += batch.size;
      index += 1;
      yield { epoch: o.epoch, batch: index, batches, loss };
    }
    return { epoch: o.epoch, loss: samples ? lossSum / samples : Number.NaN, samples, steps: index };
  }

  async evaluate(data: Dataset, batchSize = 64): Promise<Metrics & { macroF1: number }> {
    let lossSum = 0;
    const truth: number[] = [];
    const predicted: number[] = [];
    for await (const batch of data.batches(batchSize)) {
      const [loss, argMax] = tf.tidy(() => {
        const logits = this.m.model.apply(batchInputs(this.spec, batch), { training: false }) as tf.Tensor2D;
        const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.spec.numClasses);
        return [tf.losses.softmaxCrossEntropy(labels, logits), logits.argMax(1)];
      });
      lossSum += (await loss.data())[0]! * batch.size;
      predicted.push(...(await argMax.data()));
      truth.push(...batch.y);
      tf.dispose([loss, argMax]);
    }
    if (truth.length === 0) return { loss: Number.NaN, accuracy: Number.NaN, samples: 0, macroF1: Number.NaN };
    const hits = truth.reduce((n, t, i) => n + (t === predicted[i] ? 1 : 0), 0);
    return { loss: lossSum / truth.length, accuracy: hits / truth.length, samples: truth.length, macroF1: macroF1(truth, predicted) };
  }

  dispose(): void {
    this.m.engine.dispose();
  }
}

/** A 'vgg-slim' or 'densenet' classifier seeded from `spec.seed`, trained with plain SGD. */
export function createSgdEngine(spec: ModelSpec): SgdEngine {
  return new PlainSgdEngine(spec);
}
