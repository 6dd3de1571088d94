import type { ModelSpec, NamedTensor } from '@fedward/protocol';

/** One mini-batch in NHWC float32 order with integer class labels. */
export interface Batch {
  x: Float32Array;
  y: Int32Array;
  size: number;
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
}

export interface Metrics {
  loss: number;
  accuracy: number;
  samples: number;
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
  /** Trains one pass over `data`, yielding after every batch; returns the epoch's mean loss. */
  trainEpoch(
    data: Dataset,
    options: { epoch: number; batchSize: number; learningRate: number; shuffleSeed?: number },
  ): AsyncGenerator<BatchProgress, EpochResult>;
  evaluate(data: Dataset, batchSize?: number): Promise<Metrics>;
  dispose(): void;
}
