import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { federationConfigSchema, modelSpecSchema, type ModelSpec, type NamedTensor } from '@fedward/protocol';
import { activateBackend, createModel, exportLayersModel, onnxSupport, type MemoryDataset } from '../src';
import type { LayersEngine } from '../src/engine';
import { exportOnnx } from '../src/export-onnx';
import { buildSmallCnnVb, createSmallCnnVb } from '../src/small-cnn-vb';
import { withExampleLosses } from '../src/variational-bottleneck';
import { seededFill, squareData } from './fixtures';

const spec: ModelSpec = { kind: 'small-cnn-vb', inputSize: 16, channels: 1, numClasses: 2, seed: 7, vb: { beta: 0.5, k: 8 } };

/** The whole dataset as one NHWC tensor. */
async function inputsOf(data: MemoryDataset): Promise<{ x: Float32Array; y: Int32Array; n: number }> {
  for await (const b of data.batches(data.size)) return { x: b.x, y: b.y, n: b.size };
  throw new Error('empty dataset');
}

function tensorOf(weights: readonly NamedTensor[], name: string): tf.Tensor {
  const t = weights.find((v) => v.name === name)!;
  return tf.tensor(t.values, t.shape);
}

/** The encoder's statistics [N, 2K] by hand from named weights: the convolutions, global max pool, vb_enc. */
function statistics(weights: readonly NamedTensor[], x: Float32Array, n: number): tf.Tensor2D {
  const w = (name: string) => tensorOf(weights, name);
  const conv = (a: tf.Tensor4D, layer: string) => tf.relu(tf.add(tf.conv2d(a, w(`${layer}/kernel`) as tf.Tensor4D, 1, 'same'), w(`${layer}/bias`))) as tf.Tensor4D;
  const pool = (a: tf.Tensor4D) => tf.maxPool(a, 2, 2, 'valid');
  const a1 = pool(conv(tf.tensor4d(x, [n, spec.inputSize, spec.inputSize, 1]), 'conv1'));
  const a2 = pool(conv(a1, 'conv2'));
  const h = tf.max(a2, [1, 2]) as tf.Tensor2D;
  return tf.add(tf.matMul(h, w('vb_enc/kernel') as tf.Tensor2D), w('vb_enc/bias')) as tf.Tensor2D;
}

/** The inference logits by hand: z = μ through vb_dec and the head. */
function logitsByHand(weights: readonly NamedTensor[], x: Float32Array, n: number, k: number): Float32Array {
  return tf.tidy(() => {
    const w = (name: string) => tensorOf(weights, name) as tf.Tensor2D;
    const mu = tf.slice(statistics(weights, x, n), [0, 0], [-1, k]);
    const h2 = tf.add(tf.matMul(mu, w('vb_dec/kernel')), w('vb_dec/bias')) as tf.Tensor2D;
    return tf.add(tf.matMul(h2, w('logits/kernel')), w('logits/bias')).dataSync() as Float32Array;
  });
}

/** Batch mean of KL(N(μ, σ²) ‖ N(0, I)) by hand, in float64. */
function meanKl(weights: readonly NamedTensor[], x: Float32Array, n: number, k: number): number {
  const s = tf.tidy(() => statistics(weights, x, n).arraySync());
  let total = 0;
  for (const row of s) {
    for (let j = 0; j < k; j++) {
      const mu = row[j]!;
      const logVar = row[k + j]!;
      total += 0.5 * (Math.exp(logVar) + mu * mu - 1 - logVar);
    }
  }
  return total / n;
}

/** The loss of the first (only) batch of an epoch: computed before its update, on the weights given. */
async function firstLoss(engine: ReturnType<typeof createModel>, data: MemoryDataset): Promise<number> {
  const it = engine.trainEpoch(data, { epoch: 1, batchSize: data.size, learningRate: 1e-3, shuffleSeed: 1 });
  const r = await it.next();
  if (r.done) throw new Error('no batch');
  return r.value.loss;
}

beforeAll(async () => {
  await activateBackend(['cpu']);
});

describe('small-cnn-vb (PRECODE variational bottleneck)', () => {
  it('builds through createModel with stable weight names and shapes, the same weights from the same seed', () => {
    const a = createModel(spec);
    const b = createModel(spec);
    const wa = a.getWeights();
    expect(wa.map((w) => `${w.name} [${w.shape.join(',')}]`)).toEqual([
      'conv1/kernel [3,3,1,8]', 'conv1/bias [8]', 'conv2/kernel [3,3,8,16]', 'conv2/bias [16]',
      'vb_enc/kernel [16,16]', 'vb_enc/bias [16]', 'vb_dec/kernel [8,16]', 'vb_dec/bias [16]',
      'logits/kernel [16,2]', 'logits/bias [2]',
    ]);
    expect(b.getWeights().map((w) => Array.from(w.values))).toEqual(wa.map((w) => Array.from(w.values)));
    // The convolutions start where small-cnn's do (same names and initializer seeds).
    const plain = createModel({ kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 7 });
    expect(Array.from(plain.getWeights()[2]!.values)).toEqual(Array.from(wa[2]!.values));
    [a, b, plain].forEach((m) => m.dispose());
  });

  it('takes the defaults (K = 16, β = 1e-3) and refuses bad settings with clear errors', () => {
    const m = createModel({ ...spec, vb: undefined });
    expect(m.getWeights().find((w) => w.name === 'vb_enc/kernel')!.shape).toEqual([16, 32]);
    m.dispose();
    const base = { kind: 'small-cnn-vb', inputSize: 16, channels: 1, numClasses: 2, seed: 1 };
    expect(modelSpecSchema.safeParse({ ...base, vb: { beta: 1e-2 } }).success).toBe(true);
    const bad = (vb: unknown, kind = 'small-cnn-vb') => modelSpecSchema.safeParse({ ...base, kind, vb }).error?.issues.map((i) => i.message).join('; ');
    expect(bad({ beta: -1 })).toMatch(/vb.beta \(the KL weight\) must be ≥ 0/);
    expect(bad({ k: 2.5 })).toMatch(/vb.k \(latent dimensions\) must be an integer/);
    expect(bad({ k: 0 })).toMatch(/vb.k must be at least 1/);
    expect(bad({ beta: 1e-3 }, 'small-cnn')).toMatch(/model.vb configures the variational bottleneck of model kind 'small-cnn-vb' only/);
    // DP-SGD accepts it: the bottleneck treats each example on its own.
    const config = {
      rounds: 1, minClients: 1, roundDeadlineMs: 60_000, model: base,
      training: { epochs: 1, batchSize: 4, learningRate: 0.01 },
      dpSgd: { noiseMultiplier: 1, clip: 1, targetEpsilon: 10, delta: 1e-5 },
    };
    const dp = federationConfigSchema.safeParse(config);
    expect(dp.error?.issues.filter((i) => i.path.join('.') === 'model.norm') ?? []).toEqual([]);
  });

  it('adds β·KL to the training loss: β > 0 exceeds β = 0 by β × the KL computed by hand', async () => {
    const data = squareData(16, 3, spec.inputSize);
    const { x, n } = await inputsOf(data);
    const beta = 0.5;
    const withKl = createSmallCnnVb(spec, seededFill(11));
    const without = createSmallCnnVb({ ...spec, vb: { ...spec.vb, beta: 0 } }, seededFill(11));
    const weights = withKl.getWeights();
    const kl = meanKl(weights, x, n, 8);
    expect(kl).toBeGreaterThan(0.1);
    const [a, b] = [await firstLoss(withKl, data), await firstLoss(without, data)];
    // Same weights, same ε draws: the cross-entropies agree and the difference is the KL term.
    expect(a - b).toBeCloseTo(beta * kl, 4);
    [withKl, without].forEach((m) => m.dispose());
  });

  it('infers deterministically with z = μ, and samples z afresh in every training forward', async () => {
    const model = createModel(spec);
    const { x, n } = await inputsOf(squareData(8, 4, spec.inputSize));
    const p1 = model.predict(x, n);
    const p2 = model.predict(x, n);
    expect(Array.from(p1)).toEqual(Array.from(p2));
    const byHand = logitsByHand(model.getWeights(), x, n, 8);
    p1.forEach((v, i) => expect(v).toBeCloseTo(byHand[i]!, 4));
    model.dispose();

    const net = buildSmallCnnVb(spec, seededFill(5));
    tf.tidy(() => {
      const input = tf.tensor4d(x, [n, 16, 16, 1]);
      const t1 = (net.apply(input, { training: true }) as tf.Tensor).dataSync();
      const t2 = (net.apply(input, { training: true }) as tf.Tensor).dataSync();
      const inference = (net.apply(input, { training: false }) as tf.Tensor).dataSync();
      expect(Array.from(t1)).not.toEqual(Array.from(t2));
      expect(Array.from(t1)).not.toEqual(Array.from(inference));
      // Only a training pass records the KL, and only inside the engine's collector.
      expect(withExampleLosses(() => net.apply(input, { training: false })).exampleLoss).toBeNull();
      expect(withExampleLosses(() => net.apply(input, { training: true })).exampleLoss!.shape).toEqual([n]);
    });
    net.dispose();
  });

  it('trains a few steps (plain and DP-SGD) with finite, falling loss and leaks no tensors', async () => {
    // Seeded ε: with the CSPRNG's draws the loss of three short epochs does not always fall.
    const model = createSmallCnnVb(spec, seededFill(3));
    const data = squareData(32, 1, spec.inputSize);
    const losses: number[] = [];
    // Counted after the first epoch, which creates the optimizer's state.
    let after1 = 0;
    for (let epoch = 1; epoch <= 3; epoch++) {
      const it = model.trainEpoch(data, { epoch, batchSize: 8, learningRate: 0.01, shuffleSeed: epoch });
      let r = await it.next();
      while (!r.done) r = await it.next();
      losses.push(r.value.loss);
      if (epoch === 1) after1 = tf.memory().numTensors;
    }
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses[2]!).toBeLessThan(losses[0]!);
    expect(tf.memory().numTensors).toBe(after1);
    const dp = model.trainEpoch(data, { epoch: 4, batchSize: 8, learningRate: 0.01, dpSgd: { noiseMultiplier: 1, clip: 1, sampling: 'poisson', batchRecords: 8, random: seededFill(2) } });
    let r = await dp.next();
    while (!r.done) r = await dp.next();
    expect(Number.isFinite(r.value.loss)).toBe(true);
    model.dispose();
  });

  it('exports as TF.js Layers files that predict the μ path, and refuses ONNX with the reason', async () => {
    const engine = createModel(spec);
    const weights = engine.getWeights();
    const { modelJson, weightsBin, info } = await exportLayersModel(spec, weights, { round: 1 });
    expect(JSON.stringify(info)).toMatch(/FedwardVariationalSample/);
    const loaded = await tf.loadLayersModel(
      tf.io.fromMemory({ modelTopology: modelJson.modelTopology, weightSpecs: modelJson.weightsManifest[0]!.weights, weightData: weightsBin.slice().buffer }),
    );
    const { x, n } = await inputsOf(squareData(4, 8, spec.inputSize));
    const got = tf.tidy(() => (loaded.predict(tf.tensor4d(x, [n, 16, 16, 1])) as tf.Tensor).dataSync());
    const want = engine.predict(x, n);
    got.forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    const onnx = onnxSupport(spec);
    expect(onnx.supported).toBe(false);
    expect(onnx.reason).toMatch(/No ONNX export for small-cnn-vb: its variational bottleneck .* Download the TF.js model/);
    expect(() => exportOnnx(spec, weights, { round: 1 })).toThrow(/No ONNX export for small-cnn-vb/);
    loaded.dispose();
    engine.dispose();
  });

  it("DP-SGD's fast per-record gradients, KL included, equal one backward pass per record given the same ε", async () => {
    // One slice per record and K even: the batched pass draws the [S, K] ε row by row, the
    // reference loop K per record, so the same seeded stream gives every slice the same ε.
    const records = [];
    for await (const b of squareData(4, 9, spec.inputSize).batches(1)) records.push(b);
    const fast = createSmallCnnVb(spec, seededFill(3)) as LayersEngine;
    const reference = createSmallCnnVb(spec, seededFill(3)) as LayersEngine;
    const without = createSmallCnnVb({ ...spec, vb: { ...spec.vb, beta: 0 } }, seededFill(3)) as LayersEngine;
    const a = fast.perRecordGradients(records, 'fast');
    const b = reference.perRecordGradients(records, 'reference');
    const c = without.perRecordGradients(records, 'reference');
    a.forEach((r, i) => {
      expect(r.norm).toBeCloseTo(b[i]!.norm, 4);
      r.gradient.forEach((g, j) => g.forEach((v, k) => expect(v).toBeCloseTo(b[i]!.gradient[j]![k]!, 4)));
      // The KL term moves the encoder's gradient.
      expect(Array.from(r.gradient[4]!)).not.toEqual(Array.from(c[i]!.gradient[4]!));
    });
    [fast, reference, without].forEach((m) => m.dispose());
  });
});
