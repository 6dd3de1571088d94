import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { detDistillation, macroF1, type DetDistillation, type DetTrainingStage } from '@fedward/personalization';
import { detLosses } from '@fedward/personalization/det-losses';
import { SGD_WEIGHT_DECAY, batchInputs, classifierModel, sgdStep, type ClassifierModel } from './sgd';
import type { Batch, BatchProgress, Dataset, EpochResult, Metrics } from './types';

/** The seed's SGD weight decay (spec §2.6). */
export const DET_WEIGHT_DECAY = SGD_WEIGHT_DECAY;

/** The seed's stage numbers: 1 Recover, 2 Exchange, 3 Sublimate, 4 "logic error" (trains as Exchange). */
export type DetStageNumber = 1 | 2 | 3 | 4;

export interface DetTrainEpochOptions {
  epoch: number;
  batchSize: number;
  /** Both optimizers' learning rate for this epoch (the seed: `prrflLearningRate(round)`). */
  learningRate: number;
  stage: DetStageNumber;
  shuffleSeed?: number;
  /**
   * Local epochs per round. With fewer than 2 the seed always trains mutually, whatever the
   * stage (spec §2.5, last row). Default: the stage's own losses.
   */
  localEpochs?: number;
  /** SGD weight decay; default DET_WEIGHT_DECAY (1e-6). */
  weightDecay?: number;
}

/**
 * Deputy-Enhanced Transfer on one hospital (spec §2.2, §2.5): a personalized model that never
 * leaves the hospital and a deputy that goes to the server, of the same architecture.
 */
export interface DetEngine {
  readonly spec: ModelSpec;
  readonly backend: string;
  getPersonalWeights(): NamedTensor[];
  setPersonalWeights(w: readonly NamedTensor[]): void;
  getDeputyWeights(): NamedTensor[];
  setDeputyWeights(w: readonly NamedTensor[]): void;
  /**
   * One DET epoch (spec §2.5): both models step on every batch with the stage's losses, separate
   * SGD optimizers (weight decay 1e-6, no momentum), teacher detached. `loss` is the personalized
   * model's mean loss (CE, + KL where it distils), `deputyLoss` the deputy's.
   */
  trainEpoch(data: Dataset, o: DetTrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult & { deputyLoss: number }>;
  /** Macro-F1 (%) of each model on `data` in evaluation mode, for the stage decision. */
  scores(data: Dataset, batchSize: number): Promise<{ personal: number; deputy: number }>;
  evaluate(data: Dataset, batchSize?: number): Promise<{ personal: Metrics; deputy: Metrics }>;
  dispose(): void;
}

/** `nextDetStage`'s result as the seed's stage number. */
export function detStageNumber(stage: DetTrainingStage): 1 | 2 | 3 {
  switch (stage) {
    case 'recover':
      return 1;
    case 'exchange':
      return 2;
    case 'sublimate':
      return 3;
  }
}

/** Which model adds the KL term in a stage; stage 4 trains as Exchange (spec §2.5). */
export function detStageDistillation(stage: DetStageNumber, localEpochs?: number): DetDistillation {
  const named: DetTrainingStage = stage === 1 ? 'recover' : stage === 3 ? 'sublimate' : 'exchange';
  return detDistillation(named, localEpochs ?? 2);
}

class TwoModelDetEngine implements DetEngine {
  private readonly personal: ClassifierModel;
  private readonly deputy: ClassifierModel;

  constructor(readonly spec: ModelSpec) {
    this.personal = classifierModel(spec);
    this.deputy = classifierModel(spec);
  }

  get backend(): string {
    return tf.getBackend();
  }

  getPersonalWeights(): NamedTensor[] {
    return this.personal.engine.getWeights();
  }

  setPersonalWeights(w: readonly NamedTensor[]): void {
    this.personal.engine.setWeights(w);
  }

  getDeputyWeights(): NamedTensor[] {
    return this.deputy.engine.getWeights();
  }

  setDeputyWeights(w: readonly NamedTensor[]): void {
    this.deputy.engine.setWeights(w);
  }

  async *trainEpoch(data: Dataset, o: DetTrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult & { deputyLoss: number }> {
    if (![1, 2, 3, 4].includes(o.stage)) throw new RangeError(`DET stage must be 1, 2, 3 or 4 (got ${String(o.stage)})`);
    const distill = detStageDistillation(o.stage, o.localEpochs);
    const weightDecay = o.weightDecay ?? DET_WEIGHT_DECAY;
    const sides = [this.personal, this.deputy];
    const varList = sides.flatMap((s) => s.params.map((p) => p.variable));
    const batches = Math.ceil(data.size / o.batchSize);
    let personalSum = 0;
    let deputySum = 0;
    let samples = 0;
    let index = 0;
    for await (const batch of data.batches(o.batchSize, { shuffleSeed: o.shuffleSeed })) {
      const both = tf.tidy(() => {
        let pair: tf.Tensor | null = null;
        const { grads } = tf.variableGrads(() => {
          const x = this.inputs(batch);
          const labels = tf.tensor1d(batch.y, 'int32');
          // One training-mode forward per model and batch: each BatchNorm updates its moving statistics once.
          const l = detLosses(
            {
              personalized: this.personal.model.apply(x, { training: true }) as tf.Tensor2D,
              deputy: this.deputy.model.apply(x, { training: true }) as tf.Tensor2D,
            },
            labels,
            distill,
          );
          pair = tf.keep(tf.stack([l.personalized, l.deputy]));
          // The teacher is detached inside the KL, so ∇(L_p + L_d) is ∇L_p on p's variables and ∇L_d on d's.
          return tf.add(l.personalized, l.deputy) as tf.Scalar;
        }, varList);
        // Two SGD optimizers without momentum (stateless, so "new optimizers every round" holds by itself).
        for (const s of sides) sgdStep(s.params, grads, o.learningRate, weightDecay);
        return pair!;
      });
      const [lp, ld] = await both.data();
      both.dispose();
      personalSum += lp! * batch.size;
      deputySum += ld! * batch.size;
      samples += batch.size;
      index += 1;
      yield { epoch: o.epoch, batch: index, batches, loss: lp! };
    }
    return {
      epoch: o.epoch,
      loss: samples ? personalSum / samples : Number.NaN,
      deputyLoss: samples ? deputySum / samples : Number.NaN,
      samples,
      steps: index,
    };
  }

  async scores(data: Dataset, batchSize: number): Promise<{ personal: number; deputy: number }> {
    const truth: number[] = [];
    const personal: number[] = [];
    const deputy: number[] = [];
    for await (const batch of data.batches(batchSize)) {
      const out = tf.tidy(() => {
        const x = this.inputs(batch);
        const p = (this.personal.model.apply(x, { training: false }) as tf.Tensor2D).argMax(1);
        const d = (this.deputy.model.apply(x, { training: false }) as tf.Tensor2D).argMax(1);
        return tf.stack([p, d]);
      });
      const values = await out.data();
      out.dispose();
      truth.push(...batch.y);
      personal.push(...values.subarray(0, batch.size));
      deputy.push(...values.subarray(batch.size, 2 * batch.size));
    }
    if (truth.length === 0) throw new Error('DET scores need at least one sample');
    return { personal: 100 * macroF1(truth, personal), deputy: 100 * macroF1(truth, deputy) };
  }

  async evaluate(data: Dataset, batchSize = 64): Promise<{ personal: Metrics; deputy: Metrics }> {
    return { personal: await this.personal.engine.evaluate(data, batchSize), deputy: await this.deputy.engine.evaluate(data, batchSize) };
  }

  dispose(): void {
    this.personal.engine.dispose();
    this.deputy.engine.dispose();
  }

  private inputs(batch: Batch): tf.Tensor4D {
    return batchInputs(this.spec, batch);
  }
}

/**
 * Two models of `spec` ('vgg-slim' or 'densenet'), both seeded from `spec.seed`, so they start
 * equal; the caller sets the round's weights.
 */
export function createDetEngine(spec: ModelSpec): DetEngine {
  return new TwoModelDetEngine(spec);
}
