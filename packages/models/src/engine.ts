import * as tf from '@tensorflow/tfjs';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { macroF1 } from '@fedward/personalization';
import { AdamOptimizer } from './adam';
import { registerFastCpuKernels } from './cpu-kernels';
import { weightName } from './init';
import { pixelHits, softDice, softDiceLoss } from './segmentation';
import { SGD_WEIGHT_DECAY, sgdStep } from './sgd-step';
import type {
  Batch,
  BatchProgress,
  Dataset,
  DpSgdOptions,
  EpochResult,
  Metrics,
  ModelEngine,
  OptimizerState,
  RecordDataset,
  TrainEpochOptions,
} from './types';
import { NoisedGradient } from './dp-sgd/noised-gradient';
import { poissonBatch, uniformBatch } from './dp-sgd/samplers';
import { assertPerExample } from './dp-sgd/surgery';
import { perRecordGradients, planTaps } from './dp-sgd/per-record-gradients';
import { cryptoRandomFill } from '@fedward/privacy';
import { withExampleLosses } from './variational-bottleneck';

/**
 * What the network's output means: 'classification' → [N, K] logits, softmax cross-entropy,
 * accuracy; 'segmentation' → [N, H, W, 1] logits, soft-Dice loss, pixel accuracy and Dice.
 */
export type EngineTask = 'classification' | 'segmentation';

/** A tf.LayersModel behind the ModelEngine interface, trained by our own Adam/AMSGrad or plain SGD. */
export class LayersEngine implements ModelEngine {
  private readonly vars: { name: string; variable: tf.LayerVariable }[];
  /** The trainable tensors as tf.Variables (LayerVariable.write assigns into the same one). */
  readonly params: readonly { name: string; variable: tf.Variable }[];
  private readonly optimizer: AdamOptimizer;

  constructor(
    readonly spec: ModelSpec,
    private readonly model: tf.LayersModel,
    private readonly task: EngineTask = 'classification',
  ) {
    registerFastCpuKernels();
    this.vars = model.layers.flatMap((layer) => layer.weights.map((w) => ({ name: weightName(layer.name, w), variable: w })));
    const names = new Set(this.vars.map((v) => v.name));
    if (names.size !== this.vars.length) throw new Error('model weight names are not unique');
    this.params = this.vars
      .filter((v) => v.variable.trainable)
      .map(({ name, variable }) => {
        const v = variable.read(); // typed Tensor, is the LayerVariable's own tf.Variable
        if (!(v instanceof tf.Variable)) throw new Error(`weight "${name}" is not backed by a tf.Variable`);
        return { name, variable: v };
      });
    this.optimizer = new AdamOptimizer(this.params);
  }

  get backend(): string {
    return tf.getBackend();
  }

  getWeights(): NamedTensor[] {
    return this.vars.map(({ name, variable }) => ({
      name,
      shape: [...variable.shape] as number[],
      // A copy: on cpu dataSync hands out the tensor's own backing array.
      values: Float32Array.from(variable.read().dataSync() as Float32Array),
    }));
  }

  setWeights(weights: readonly NamedTensor[]): void {
    const vars = this.vars;
    if (weights.length !== vars.length) {
      throw new Error(`model has ${vars.length} tensors, weights have ${weights.length}`);
    }
    tf.tidy(() => {
      vars.forEach(({ name, variable }, i) => {
        const w = weights[i]!;
        if (w.name !== name) throw new Error(`weight ${i} should be "${name}", got "${w.name}"`);
        variable.write(tf.tensor(w.values.slice(), w.shape));
      });
    });
  }

  getOptimizerState(): OptimizerState | null {
    return this.optimizer.getState();
  }

  setOptimizerState(state: OptimizerState | null): void {
    this.optimizer.setState(state);
  }

  async *trainEpoch(data: Dataset, options: TrainEpochOptions): AsyncGenerator<BatchProgress, EpochResult> {
    if (options.dpSgd) return yield* this.trainDpSgdEpoch(data, options, options.dpSgd);
    const optimizer = options.optimizer ?? 'amsgrad';
    const amsgrad = optimizer === 'amsgrad';
    const params = this.params;
    const varList = params.map((p) => p.variable);
    const batches = Math.ceil(data.size / options.batchSize);
    let lossSum = 0;
    let samples = 0;
    let index = 0;
    for await (const batch of data.batches(options.batchSize, { shuffleSeed: options.shuffleSeed })) {
      const lossTensor = tf.tidy(() => {
        const { value, grads } = tf.variableGrads(() => this.loss(batch), varList);
        const byName = new Map<string, tf.Tensor>();
        for (const p of params) {
          const g = grads[p.variable.name];
          if (g) byName.set(p.name, g);
        }
        if (optimizer === 'sgd') sgdStep(params, grads, options.learningRate, options.weightDecay ?? SGD_WEIGHT_DECAY);
        else this.optimizer.apply(byName, options.learningRate, amsgrad);
        return value;
      });
      // Reading the loss is the one sync point per batch; it also paces the UI's progress bar.
      const loss = (await lossTensor.data())[0]!;
      lossTensor.dispose();
      lossSum += loss * batch.size;
      samples += batch.size;
      index += 1;
      yield { epoch: options.epoch, batch: index, batches, loss };
    }
    return { epoch: options.epoch, loss: samples ? lossSum / samples : Number.NaN, samples, steps: index };
  }

  /**
   * One epoch of DP-SGD: ⌈records/B⌉ steps, each sampling records (Poisson at q = B/records, or
   * B uniformly without replacement) from the CSPRNG, taking each sampled record's own gradient
   * (by default from one batched pass split by record, dp-sgd/per-record-gradients.ts; with
   * `path: 'reference'` one backward pass per record, the loop the fast path is tested against),
   * and stepping the optimizer with G = (Σ clip(g_i) + noise)/B from `NoisedGradient`. The model
   * must not mix examples (`assertPerExample`).
   */
  private async *trainDpSgdEpoch(data: Dataset, options: TrainEpochOptions, dp: DpSgdOptions): AsyncGenerator<BatchProgress, EpochResult> {
    assertPerExample(this.model, this.spec.kind);
    const records = 'recordBatches' in data ? await (data as RecordDataset).recordBatches() : await slicesAsRecords(data);
    const n = records.length;
    if (n === 0) return { epoch: options.epoch, loss: Number.NaN, samples: 0, steps: 0 };
    if (!(dp.batchRecords >= 1 && dp.batchRecords <= n)) throw new RangeError(`DP-SGD takes 1 to ${n} records per step (got ${dp.batchRecords})`);
    const random = dp.random ?? cryptoRandomFill;
    const optimizer = options.optimizer ?? 'amsgrad';
    const params = this.params;
    const varList = params.map((p) => p.variable);
    const sizes = params.map((p) => p.variable.size);
    const steps = Math.max(1, Math.round(n / dp.batchRecords));
    let lossSum = 0;
    let lossCount = 0;
    for (let step = 1; step <= steps; step++) {
      const picked = dp.sampling === 'poisson' ? poissonBatch(n, dp.batchRecords / n, random) : uniformBatch(n, dp.batchRecords, random);
      const noised = new NoisedGradient(sizes, { clip: dp.clip, noiseMultiplier: dp.noiseMultiplier, random, reduction: dp.reduction ?? 'sum', batch: dp.batchRecords });
      if (dp.path === 'reference') {
        for (const r of picked) {
          const { gradient, norm, loss } = this.recordGradient(records[r]!, varList);
          noised.add(gradient, norm);
          lossSum += loss;
          lossCount += 1;
        }
      } else if (picked.length > 0) {
        const fast = this.fastRecordGradients(picked.map((r) => records[r]!));
        for (const { gradient, norm } of fast.records) noised.add(gradient, norm);
        lossSum += fast.loss * picked.length;
        lossCount += picked.length;
      }
      const g = noised.result(dp.batchRecords);
      tf.tidy(() => {
        const grads: Record<string, tf.Tensor> = {};
        const byName = new Map<string, tf.Tensor>();
        params.forEach((p, i) => {
          const t = tf.tensor(Float32Array.from(g[i]!), p.variable.shape);
          grads[p.variable.name] = t;
          byName.set(p.name, t);
        });
        if (optimizer === 'sgd') sgdStep(params, grads as tf.NamedTensorMap, options.learningRate, options.weightDecay ?? SGD_WEIGHT_DECAY);
        else this.optimizer.apply(byName, options.learningRate, optimizer === 'amsgrad');
      });
      // The loss shown is the sampled records' own (a local figure, never sent as DP output).
      yield { epoch: options.epoch, batch: step, batches: steps, loss: lossCount ? lossSum / lossCount : Number.NaN };
      await new Promise((r) => setTimeout(r, 0));
    }
    return { epoch: options.epoch, loss: lossCount ? lossSum / lossCount : Number.NaN, samples: lossCount, steps };
  }

  /** One record's gradient of its mean loss, per trainable tensor in float64, with its L2 norm. */
  private recordGradient(record: Batch, varList: tf.Variable[]): { gradient: Float64Array[]; norm: number; loss: number } {
    let result: { gradient: Float64Array[]; norm: number; loss: number } | null = null;
    tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => this.loss(record), varList);
      let squares = 0;
      const gradient = this.params.map((p) => {
        const gt = grads[p.variable.name];
        const g = gt ? Float64Array.from(gt.dataSync() as Float32Array) : new Float64Array(p.variable.size);
        for (let k = 0; k < g.length; k++) squares += g[k]! * g[k]!;
        return g;
      });
      result = { gradient, norm: Math.sqrt(squares), loss: value.dataSync()[0]! };
    });
    return result!;
  }

  /**
   * Per-record gradients, unclipped: 'reference' takes one backward pass per record, 'fast'
   * (what DP-SGD trains with) one batched pass split by record (dp-sgd/per-record-gradients.ts).
   */
  perRecordGradients(records: readonly Batch[], path: 'fast' | 'reference' = 'reference'): { gradient: (Float32Array | Float64Array)[]; norm: number }[] {
    if (path === 'fast') return this.fastRecordGradients(records).records;
    const varList = this.params.map((p) => p.variable);
    return records.map((r) => {
      const { gradient, norm } = this.recordGradient(r, varList);
      return { gradient, norm };
    });
  }

  private taps: ReturnType<typeof planTaps> | null = null;

  private fastRecordGradients(records: readonly Batch[]): ReturnType<typeof perRecordGradients> {
    assertPerExample(this.model, this.spec.kind);
    this.taps ??= planTaps(this.model, this.params);
    return perRecordGradients(this.model, this.params, this.taps, records, {
      inputs: (batch) => this.inputs(batch),
      trainingLossPerSlice: (x, batch) => {
        const { output, exampleLoss } = withExampleLosses(() => this.model.apply(x, { training: true }) as tf.Tensor);
        const task = this.lossPerSlice(output, batch);
        return exampleLoss ? tf.add(task, exampleLoss) : task;
      },
    });
  }

  /** See ModelEngine.predict: the logits exactly as `evaluate` computes them. */
  predict(x: Float32Array, count: number): Float32Array {
    const out = tf.tidy(() => this.model.apply(this.inputs({ x, y: new Int32Array(count), size: count }), { training: false }) as tf.Tensor);
    // A copy: on cpu dataSync hands out the tensor's own backing array, which dispose frees.
    const values = Float32Array.from(out.dataSync() as Float32Array);
    out.dispose();
    return values;
  }

  /**
   * The network as TF.js Layers artifacts (topology, weight specs, one weight buffer), with the
   * current weights. Package-internal: `exportLayersModel` turns them into model.json and
   * weights.bin, so TF.js types never reach the callers of ModelEngine.
   */
  async layersArtifacts(): Promise<tf.io.ModelArtifacts> {
    // `as`: assigned inside the callback, which TypeScript's narrowing does not see.
    let saved = null as tf.io.ModelArtifacts | null;
    await this.model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        saved = artifacts;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
    );
    if (!saved) throw new Error(`TF.js did not hand over the ${this.spec.kind} model's artifacts`);
    return saved;
  }

  async evaluate(data: Dataset, batchSize = 64): Promise<Metrics> {
    return this.task === 'segmentation' ? this.evaluateSegmentation(data, batchSize) : this.evaluateClassification(data, batchSize);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.model.dispose();
  }

  private async evaluateClassification(data: Dataset, batchSize: number): Promise<Metrics> {
    let lossSum = 0;
    const truth: number[] = [];
    const predicted: number[] = [];
    for await (const batch of data.batches(batchSize)) {
      const [loss, argMax] = tf.tidy(() => {
        const logits = this.model.apply(this.inputs(batch), { training: false }) as tf.Tensor2D;
        const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.spec.numClasses);
        return [tf.losses.softmaxCrossEntropy(labels, logits), logits.argMax(1)];
      });
      lossSum += (await loss.data())[0]! * batch.size;
      predicted.push(...(await argMax.data()));
      truth.push(...batch.y);
      tf.dispose([loss, argMax]);
    }
    if (truth.length === 0) return { loss: Number.NaN, accuracy: Number.NaN, samples: 0 };
    const hits = truth.reduce((n, t, i) => n + (t === predicted[i] ? 1 : 0), 0);
    return { loss: lossSum / truth.length, accuracy: hits / truth.length, samples: truth.length, macroF1: macroF1(truth, predicted) };
  }

  private async evaluateSegmentation(data: Dataset, batchSize: number): Promise<Metrics> {
    let diceSum = 0;
    let hitSum = 0;
    let pixels = 0;
    let samples = 0;
    for await (const batch of data.batches(batchSize)) {
      const out = tf.tidy(() => {
        const logits = this.model.apply(this.inputs(batch), { training: false }) as tf.Tensor;
        const mask = this.masks(batch);
        return tf.stack([tf.sum(softDice(logits, mask)), pixelHits(logits, mask)]);
      });
      const [dice, hits] = await out.data();
      out.dispose();
      diceSum += dice!;
      hitSum += hits!;
      pixels += batch.size * this.spec.inputSize * this.spec.inputSize;
      samples += batch.size;
    }
    if (!samples) return { loss: Number.NaN, accuracy: Number.NaN, samples: 0, dice: Number.NaN };
    const dice = diceSum / samples;
    return { loss: 1 - dice, accuracy: hitSum / pixels, samples, dice };
  }

  private inputs(batch: Batch): tf.Tensor4D {
    const { inputSize, channels } = this.spec;
    return tf.tensor4d(batch.x, [batch.size, inputSize, inputSize, channels]);
  }

  private masks(batch: Batch): tf.Tensor4D {
    if (!batch.mask) throw new Error(`a ${this.spec.kind} batch needs masks (Batch.mask), this one has none`);
    const { inputSize } = this.spec;
    return tf.tensor4d(batch.mask, [batch.size, inputSize, inputSize, 1]);
  }

  /** One loss per slice ([N]); their mean is `loss`. */
  private lossPerSlice(logits: tf.Tensor, batch: Batch): tf.Tensor1D {
    if (this.task === 'segmentation') return tf.sub(1, softDice(logits, this.masks(batch)));
    const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.spec.numClasses);
    return tf.losses.softmaxCrossEntropy(labels, logits as tf.Tensor2D, undefined, undefined, tf.Reduction.NONE) as tf.Tensor1D;
  }

  /**
   * The training loss: the task's, plus the batch mean of the per-example losses the layers
   * record in a training pass (small-cnn-vb's β·KL; see variational-bottleneck.ts).
   */
  private loss(batch: Batch): tf.Scalar {
    const { output: logits, exampleLoss } = withExampleLosses(() => this.model.apply(this.inputs(batch), { training: true }) as tf.Tensor);
    const task = this.taskLoss(logits, batch);
    return exampleLoss ? tf.add(task, tf.mean(exampleLoss)) : task;
  }

  private taskLoss(logits: tf.Tensor, batch: Batch): tf.Scalar {
    if (this.task === 'segmentation') return softDiceLoss(logits, this.masks(batch));
    const labels = tf.oneHot(tf.tensor1d(batch.y, 'int32'), this.spec.numClasses);
    return tf.losses.softmaxCrossEntropy(labels, logits as tf.Tensor2D) as tf.Scalar;
  }
}

/** Without patient records, each slice is its own record (the slice-level relation). */
async function slicesAsRecords(data: Dataset): Promise<Batch[]> {
  const out: Batch[] = [];
  for await (const b of data.batches(Math.max(1, data.size))) {
    const area = b.x.length / b.size;
    const maskArea = b.mask ? b.mask.length / b.size : 0;
    for (let i = 0; i < b.size; i++) {
      const x = b.x.slice(i * area, (i + 1) * area);
      const y = b.y.slice(i, i + 1);
      out.push(b.mask ? { x, y, size: 1, mask: b.mask.slice(i * maskArea, (i + 1) * maskArea) } : { x, y, size: 1 });
    }
  }
  return out;
}
