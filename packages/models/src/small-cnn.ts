import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import type { Batch, BatchProgress, Dataset, EpochResult, Metrics, ModelEngine } from './types';

/**
 * A small CNN classifier: conv3×3×8 → maxpool → conv3×3×16 → maxpool → global max pool → dense K.
 * The global max pool makes it a detector of "is this pattern anywhere in the slice", which is
 * what a lesion-present label asks; a flatten + dense head learned the same task far slower
 * (stuck at the majority class for 6 epochs where this head reached ~100% in 3–4).
 * Layers carry fixed names so weight names ("conv1/kernel") are the same in every tab and on the
 * server, whatever TF.js's global name counters say.
 */
function buildSmallCnn(spec: ModelSpec): tf.LayersModel {
  const init = (offset: number) => tf.initializers.glorotUniform({ seed: spec.seed + offset });
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        name: 'conv1',
        inputShape: [spec.inputSize, spec.inputSize, spec.channels],
        filters: 8,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
        kernelInitializer: init(1),
      }),
      tf.layers.maxPooling2d({ name: 'pool1', poolSize: 2 }),
      tf.layers.conv2d({ name: 'conv2', filters: 16, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: init(2) }),
      tf.layers.maxPooling2d({ name: 'pool2', poolSize: 2 }),
      tf.layers.globalMaxPooling2d({ name: 'gmp' }),
      tf.layers.dense({ name: 'logits', units: spec.numClasses, kernelInitializer: init(4) }),
    ],
  });
}

class LayersEngine implements ModelEngine {
  private optimizer: tf.Optimizer | null = null;
  private optimizerRate = 0;

  constructor(
    readonly spec: ModelSpec,
    private readonly model: tf.LayersModel,
  ) {}

  get backend(): string {
    return tf.getBackend();
  }

  private variables(): { name: string; variable: tf.LayerVariable }[] {
    return this.model.layers.flatMap((layer) =>
      layer.weights.map((w) => ({ name: `${layer.name}/${w.originalName.split('/').pop()}`, variable: w })),
    );
  }

  getWeights(): NamedTensor[] {
    return this.variables().map(({ name, variable }) => ({
      name,
      shape: [...variable.shape] as number[],
      values: variable.read().dataSync() as Float32Array,
    }));
  }

  setWeights(weights: readonly NamedTensor[]): void {
    const vars = this.variables();
    if (weights.length !== vars.length) {
      throw new Error(`model has ${vars.length} tensors, weights have ${weights.length}`);
    }
    tf.tidy(() => {
      vars.forEach(({ name, variable }, i) => {
        const w = weights[i]!;
        if (w.name !== name) throw new Error(`weight ${i} should be "${name}", got "${w.name}"`);
        variable.write(tf.tensor(w.values, w.shape));
      });
    });
  }

  async *trainEpoch(
    data: Dataset,
    options: { epoch: number; batchSize: number; learningRate: number; shuffleSeed?: number },
  ): AsyncGenerator<BatchProgress, EpochResult> {
    if (!this.optimizer || this.optimizerRate !== options.learningRate) {
      this.optimizer?.dispose();
      this.optimizer = tf.train.adam(options.learningRate);
      this.optimizerRate = options.learningRate;
    }
    const optimizer = this.optimizer;
    const batches = Math.ceil(data.size / options.batchSize);
    let lossSum = 0;
    let samples = 0;
    let index = 0;
    for await (const batch of data.batches(options.batchSize, { shuffleSeed: options.shuffleSeed })) {
      const lossTensor = optimizer.minimize(() => this.loss(batch, true), true);
      // Reading the loss is the one sync point per batch; it also paces the UI's progress bar.
      const loss = (await lossTensor!.data())[0]!;
      lossTensor!.dispose();
      lossSum += loss * batch.size;
      samples += batch.size;
      index += 1;
      yield { epoch: options.epoch, batch: index, batches, loss };
    }
    return { epoch: options.epoch, loss: samples ? lossSum / samples : Number.NaN, samples };
  }

  async evaluate(data: Dataset, batchSize = 64): Promise<Metrics> {
    let lossSum = 0;
    let correct = 0;
    let samples = 0;
    for await (const batch of data.batches(batchSize)) {
      const [loss, hits] = tf.tidy(() => {
        const xs = this.inputs(batch);
        const logits = this.model.apply(xs, { training: false }) as tf.Tensor2D;
        const labels = tf.tensor1d(batch.y, 'int32');
        const l = tf.losses.softmaxCrossEntropy(tf.oneHot(labels, this.spec.numClasses), logits);
        const h = logits.argMax(1).equal(labels).sum();
        return [l, h];
      });
      lossSum += (await loss.data())[0]! * batch.size;
      correct += (await hits.data())[0]!;
      samples += batch.size;
      loss.dispose();
      hits.dispose();
    }
    return samples
      ? { loss: lossSum / samples, accuracy: correct / samples, samples }
      : { loss: Number.NaN, accuracy: Number.NaN, samples: 0 };
  }

  dispose(): void {
    this.optimizer?.dispose();
    this.model.dispose();
  }

  private inputs(batch: Batch): tf.Tensor4D {
    const { inputSize, channels } = this.spec;
    return tf.tensor4d(batch.x, [batch.size, inputSize, inputSize, channels]);
  }

  private loss(batch: Batch, training: boolean): tf.Scalar {
    const logits = this.model.apply(this.inputs(batch), { training }) as tf.Tensor2D;
    const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.spec.numClasses);
    return tf.losses.softmaxCrossEntropy(labels, logits) as tf.Scalar;
  }
}

export function createSmallCnn(spec: ModelSpec): ModelEngine {
  return new LayersEngine(spec, buildSmallCnn(spec));
}
