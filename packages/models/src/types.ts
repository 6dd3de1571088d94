import type { ModelSpec, NamedTensor } from '@fedward/protocol';

/** One mini-batch in NHWC float32 order with integer class labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
  /** Segmentation targets (U-Net): N×H×W values in [0, 1], row-major per sample. */
  mask?: Float32Array;
}

/**
 * A source of samples that can be read more than once (each epoch) without holding everything
 * in memory: the hospital app streams from IndexedDB, Node tests generate in memory.
 */
export interface Dataset {
  readonly size: number;
  batches(batchSize: number, options?: { shuffleSeed?: number }): AsyncIterable<Batch>;
}

export interface BatchProgress {
  epoch: number;
  batch: number;
  batches: number;
  loss: number;
}

export interface EpochResult {
  epoch: number;
  loss: number;
  samples: number;
  /** Optimizer steps taken this epoch (one per batch): FedNova's τ_j. */
  steps: number;
}

export interface Metrics {
  loss: number;
  /** Classifiers: top-1 accuracy. U-Net: pixel accuracy of sigmoid ≥ 0.5 against mask ≥ 0.5. */
  accuracy: number;
  samples: number;
  /** U-Net only: mean per-image soft Dice, (2·Σpg + 1e-5)/(Σp + Σg + 1e-5), p = sigmoid(logit). */
  dice?: number;
  /** Classifiers only: sklearn's macro-F1 of the argmax predictions, a fraction in [0, 1]. */
  macroF1?: number;
}

/**
 * The local optimizer: Adam, Adam with AMSGrad (seed 1's `Adam(amsgrad=True)`, the default), or
 * plain SGD with weight decay and no momentum (seed 2's; it has no state to keep).
 */
export type OptimizerName = 'adam' | 'amsgrad' | 'sgd';

/**
 * The local optimizer's state, exportable so that it survives rounds, re-splits and page reloads.
 * `slots` are keyed by the same tensor names as `getWeights` (same order); each array has the
 * tensor's number of values. `m`/`v` are PyTorch's exp_avg/exp_avg_sq, `vmax` its max_exp_avg_sq
 * (present exactly when `amsgrad`). `step` is the number of updates applied so far (bias correction).
 */
export interface OptimizerState {
  step: number;
  amsgrad: boolean;
  slots: { name: string; m: Float32Array; v: Float32Array; vmax?: Float32Array }[];
}

export interface TrainEpochOptions {
  epoch: number;
  batchSize: number;
  /** May change between epochs: the optimizer state is kept. */
  learningRate: number;
  shuffleSeed?: number;
  /** Default 'amsgrad'. */
  optimizer?: OptimizerName;
  /** SGD only: torch-style weight decay added to every gradient (default 1e-6, seed 2's). */
  weightDecay?: number;
  /** Train with DP-SGD (per-record clipping and noise) instead of plain mini-batches. */
  dpSgd?: DpSgdOptions;
}

/**
 * DP-SGD (Abadi et al. 2016) as the accountant assumes it: each step samples records (Poisson, or
 * uniformly without replacement), clips each record's gradient to L2 norm C, sums them on the
 * integer grid, adds discrete Gaussian noise of std σ·C (on the grid: σ·bound) from the CSPRNG,
 * and divides by the expected batch size: G = (Σ clip(g_i) + N(0, σ²C²))/B.
 */
export interface DpSgdOptions {
  /** σ, the noise multiplier (0: no noise, for tests of the clipping only). */
  noiseMultiplier: number;
  /** C, the L2 bound of one record's gradient. */
  clip: number;
  sampling: 'poisson' | 'uniform';
  /** Expected (Poisson) or exact (uniform) records per step; q = batchRecords/records. */
  batchRecords: number;
  /**
   * 'sum' (default): the textbook G = (Σ clip_C(g_i) + N(0, σ²C²))/B. 'mean': deepee's
   * mean-reduction scaling, G = (1/B)·Σ clip_C(g_i/B) + N(0, (σC/B)²) with B = batchRecords
   * (`NoisedGradient`); the same σ and privacy, deepee(C, lr) = textbook(B·C, lr/B).
   */
  reduction?: 'sum' | 'mean';
  /** CSPRNG words for sampling and noise (default WebCrypto; tests inject a seeded one). */
  random?: (buffer: Uint32Array) => void;
  /**
   * How the records' gradients are taken: 'fast' (default) one batched pass split by record,
   * 'reference' one backward pass per record (what 'fast' is tested against).
   */
  path?: 'fast' | 'reference';
}

/**
 * A dataset whose records (e.g. patients: all of a patient's slices) are the unit DP-SGD protects.
 * Without it, each slice is its own record.
 */
export interface RecordDataset extends Dataset {
  /** Every record as one batch of its slices. */
  recordBatches(): Promise<Batch[]>;
}

/**
 * The narrow interface the rest of Fedward sees. Nothing outside packages/models touches TF.js,
 * so the engine can be swapped without changing the client runtime or the server.
 */
export interface ModelEngine {
  readonly spec: ModelSpec;
  readonly backend: string;
  getWeights(): NamedTensor[];
  setWeights(weights: readonly NamedTensor[]): void;
  /**
   * Trains one pass over `data` (one optimizer step per batch), yielding after every batch;
   * returns the epoch's mean loss and its step count.
   */
  trainEpoch(data: Dataset, options: TrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult>;
  /**
   * Evaluates with batch statistics in every normalisation layer (DenseNet, U-Net), as the seed
   * does: a sample's output depends on the other samples of its batch.
   */
  evaluate(data: Dataset, batchSize?: number): Promise<Metrics>;
  /**
   * The raw outputs (logits) for `count` inputs (NHWC float32, normalised as for training), in
   * evaluation mode and one batch: [count, numClasses] for classifiers, [count, H, W, 1] for the
   * U-Net. The caller turns them into probabilities (softmax, sigmoid). One batch because in the
   * batch-stat norms (DenseNet, U-Net) a sample's output depends on the rest of its batch.
   */
  predict(x: Float32Array, count: number): Float32Array;
  /** A copy of the optimizer's state; null before the first step (or after `setOptimizerState(null)`). */
  getOptimizerState(): OptimizerState | null;
  /** Replaces the optimizer's state (null: start afresh); throws when names or sizes do not match the model. */
  setOptimizerState(state: OptimizerState | null): void;
  dispose(): void;
}
