import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { DET_ROUND_START, nextDetStage, type DetStage } from '@fedward/personalization';
import {
  DET_WEIGHT_DECAY,
  MemoryDataset,
  activateBackend,
  createDetEngine,
  createModel,
  detStageNumber,
  seededRandom,
  type DetEngine,
  type DetStageNumber,
  type MemorySample,
} from '../src';
import { weightName } from '../src/init';
import { buildVggSlim } from '../src/vgg-slim';

const tiny: ModelSpec = { kind: 'vgg-slim', inputSize: 8, channels: 1, numClasses: 3, seed: 1, width: 2 };

beforeAll(async () => {
  await activateBackend(['cpu']);
});

/** Three classes by brightness level, plus noise: learnable by a tiny net in a few epochs. */
function levels(n: number, seed: number): MemorySample[] {
  const rand = seededRandom(seed);
  const area = tiny.inputSize * tiny.inputSize;
  return Array.from({ length: n }, (_, i) => {
    const label = i % 3;
    return { x: Float32Array.from({ length: area }, () => label * 0.5 + rand() * 0.6), label };
  });
}

async function drain<T, R>(gen: AsyncGenerator<T, R>): Promise<R> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

function loadModel(weights: readonly NamedTensor[]): tf.LayersModel {
  const model = buildVggSlim(tiny);
  const byName = new Map(weights.map((w) => [w.name, w]));
  for (const layer of model.layers) {
    for (const w of layer.weights) {
      const t = byName.get(weightName(layer.name, w))!;
      tf.tidy(() => {
        w.write(tf.tensor(t.values, t.shape));
      });
    }
  }
  return model;
}

function readModel(model: tf.LayersModel): NamedTensor[] {
  return model.layers.flatMap((layer) =>
    layer.weights.map((w) => ({ name: weightName(layer.name, w), shape: [...w.shape] as number[], values: Float32Array.from(w.read().dataSync()) })),
  );
}

/**
 * An independent reference of one student step on one batch: CE (+ KL towards the teacher's
 * logits, taken as a constant from a separate training-mode forward), plain SGD with weight decay.
 */
function referenceStep(
  student: readonly NamedTensor[],
  teacher: readonly NamedTensor[],
  samples: readonly MemorySample[],
  o: { kl: boolean; lr: number; wd: number },
): NamedTensor[] {
  const s = loadModel(student);
  const t = loadModel(teacher);
  tf.tidy(() => {
    const x = tf.tensor4d(Float32Array.from(samples.flatMap((m) => [...m.x])), [samples.length, tiny.inputSize, tiny.inputSize, 1]);
    const y = tf.oneHot(tf.tensor1d(samples.map((m) => m.label), 'int32'), tiny.numClasses);
    const teacherLogits = t.apply(x, { training: true }) as tf.Tensor2D;
    const vars = s.trainableWeights.map((w) => w.read() as tf.Variable);
    const { grads } = tf.variableGrads(() => {
      const logits = s.apply(x, { training: true }) as tf.Tensor2D;
      const logP = tf.logSoftmax(logits);
      let loss = tf.neg(tf.sum(tf.mul(y, logP))).div(samples.length);
      if (o.kl) {
        const logQ = tf.logSoftmax(teacherLogits);
        loss = loss.add(tf.sum(tf.mul(tf.exp(logQ), tf.sub(logQ, logP))).div(samples.length));
      }
      return loss as tf.Scalar;
    }, vars);
    for (const v of vars) v.assign(tf.sub(v, tf.mul(o.lr, tf.add(grads[v.name]!, tf.mul(o.wd, v)))));
  });
  const out = readModel(s);
  s.dispose();
  t.dispose();
  return out;
}

function maxDiff(a: readonly NamedTensor[], b: readonly NamedTensor[]): number {
  expect(a.map((t) => t.name)).toEqual(b.map((t) => t.name));
  let m = 0;
  a.forEach((t, i) => t.values.forEach((v, j) => (m = Math.max(m, Math.abs(v - b[i]!.values[j]!)))));
  return m;
}

const batch = levels(6, 7);
const data = new MemoryDataset(batch);
const lr = 0.1;
let personal0: NamedTensor[];
let deputy0: NamedTensor[];

beforeAll(() => {
  // Different weights for the two models, so that the KL terms are far from zero.
  const a = createModel(tiny);
  const b = createModel({ ...tiny, seed: 2 });
  personal0 = a.getWeights();
  deputy0 = b.getWeights();
  a.dispose();
  b.dispose();
});

async function oneStep(engine: DetEngine, stage: DetStageNumber, extra: { localEpochs?: number; weightDecay?: number } = {}) {
  engine.setPersonalWeights(personal0);
  engine.setDeputyWeights(deputy0);
  const r = await drain(engine.trainEpoch(data, { epoch: 1, batchSize: 6, learningRate: lr, stage, ...extra }));
  expect(r.steps).toBe(1);
  expect(r.samples).toBe(6);
  return { personal: engine.getPersonalWeights(), deputy: engine.getDeputyWeights(), result: r };
}

describe('DET engine', () => {
  it('per stage, exactly the right model gets the KL term; the teacher gets no gradient from the student’s KL', async () => {
    const engine = createDetEngine(tiny);
    const wd = DET_WEIGHT_DECAY;
    const ref = {
      pCe: referenceStep(personal0, deputy0, batch, { kl: false, lr, wd }),
      pKl: referenceStep(personal0, deputy0, batch, { kl: true, lr, wd }),
      dCe: referenceStep(deputy0, personal0, batch, { kl: false, lr, wd }),
      dKl: referenceStep(deputy0, personal0, batch, { kl: true, lr, wd }),
    };
    // The KL terms matter at this size: a wrong choice would be visible.
    expect(maxDiff(ref.pCe, ref.pKl)).toBeGreaterThan(1e-3);
    expect(maxDiff(ref.dCe, ref.dKl)).toBeGreaterThan(1e-3);
    const table: [DetStageNumber, boolean, boolean][] = [
      [1, false, true], // Recover: p teaches d; p's update is a pure-CE step although L_d depends on p's logits
      [2, true, true], // Exchange
      [3, true, false], // Sublimate: d teaches p; d's update is a pure-CE step
      [4, true, true], // the seed's "logic error" stage trains as Exchange
    ];
    for (const [stage, pKl, dKl] of table) {
      const { personal, deputy, result } = await oneStep(engine, stage);
      expect(maxDiff(personal, pKl ? ref.pKl : ref.pCe), `stage ${stage} personalized`).toBeLessThan(2e-6);
      expect(maxDiff(deputy, dKl ? ref.dKl : ref.dCe), `stage ${stage} deputy`).toBeLessThan(2e-6);
      expect(Number.isFinite(result.loss) && Number.isFinite(result.deputyLoss)).toBe(true);
      // Moving statistics were updated once per model (they are compared above), and differ from the start.
      const mm = personal.find((t) => t.name === 'bn1_1/moving_mean')!;
      expect([...mm.values].some((v) => v !== 0)).toBe(true);
    }
    // With fewer than two local epochs the seed always trains mutually, even in stage 1.
    const mutual = await oneStep(engine, 1, { localEpochs: 1 });
    expect(maxDiff(mutual.personal, ref.pKl)).toBeLessThan(2e-6);
    expect(maxDiff(mutual.deputy, ref.dKl)).toBeLessThan(2e-6);
    await expect(drain(engine.trainEpoch(data, { epoch: 1, batchSize: 6, learningRate: lr, stage: 5 as DetStageNumber }))).rejects.toThrow(/stage/);
    engine.dispose();
  });

  it('applies SGD weight decay (default 1e-6, the seed’s) to both models', async () => {
    expect(DET_WEIGHT_DECAY).toBe(1e-6);
    const engine = createDetEngine(tiny);
    const wd = 0.5;
    const { personal, deputy } = await oneStep(engine, 2, { weightDecay: wd });
    const pNoDecay = referenceStep(personal0, deputy0, batch, { kl: true, lr, wd: 0 });
    expect(maxDiff(personal, referenceStep(personal0, deputy0, batch, { kl: true, lr, wd }))).toBeLessThan(2e-6);
    expect(maxDiff(deputy, referenceStep(deputy0, personal0, batch, { kl: true, lr, wd }))).toBeLessThan(2e-6);
    // The difference is exactly −lr·wd·w on every trainable tensor (kernels and γ, β), none on moving statistics.
    personal.forEach((t, i) => {
      const w0 = personal0[i]!.values;
      const trainable = !t.name.includes('moving');
      t.values.forEach((v, j) => {
        const expected = trainable ? -lr * wd * w0[j]! : 0;
        expect(v - pNoDecay[i]!.values[j]!).toBeCloseTo(expected, 5);
      });
    });
    engine.dispose();
  });

  it('runs a stage sequence over epochs driven by nextDetStage and scores; evaluates both models', async () => {
    const engine = createDetEngine(tiny);
    const train = new MemoryDataset(levels(24, 11));
    // Both start from the same weights (the caller sets them): equal scores.
    engine.setPersonalWeights(personal0);
    engine.setDeputyWeights(personal0);
    const first = await engine.scores(train, 8);
    expect(first.personal).toBe(first.deputy);
    expect(first.personal).toBeGreaterThanOrEqual(0);
    expect(first.personal).toBeLessThanOrEqual(100);
    let stage: DetStage = DET_ROUND_START;
    const stages: number[] = [];
    for (let epoch = 1; epoch <= 4; epoch++) {
      const s = await engine.scores(train, 8);
      const previous = stage;
      stage = nextDetStage(stage, { personalized: s.personal, deputy: s.deputy });
      const n = detStageNumber(stage);
      // The seed's rule, read off the scores.
      const expected = s.deputy < 0.7 * s.personal || previous === 'start' ? 1 : previous === 'recover' || s.deputy < 0.9 * s.personal ? 2 : 3;
      expect(n).toBe(expected);
      stages.push(n);
      const r = await drain(engine.trainEpoch(train, { epoch, batchSize: 8, learningRate: 0.05, stage: n, shuffleSeed: epoch }));
      expect(r.steps).toBe(3);
    }
    expect(stages[0]).toBe(1);
    expect(new Set(stages).size).toBeGreaterThan(1);
    const m = await engine.evaluate(train, 8);
    expect(m.personal.samples).toBe(24);
    expect(m.deputy.samples).toBe(24);
    // The personalized model's metrics are those of a plain engine holding its weights.
    const plain = createModel(tiny);
    plain.setWeights(engine.getPersonalWeights());
    const pm = await plain.evaluate(train, 8);
    expect(m.personal.loss).toBeCloseTo(pm.loss, 5);
    expect(m.personal.accuracy).toBe(pm.accuracy);
    plain.dispose();
    engine.dispose();
  }, 60_000);

  it('the engine’s plain SGD (FedAvg/FedBN baselines) takes the same pure-CE step and reports macro-F1', async () => {
    const engine = createModel(tiny);
    engine.setWeights(personal0);
    const r = await drain(engine.trainEpoch(data, { epoch: 1, batchSize: 6, learningRate: lr, optimizer: 'sgd' }));
    expect(r.steps).toBe(1);
    expect(maxDiff(engine.getWeights(), referenceStep(personal0, deputy0, batch, { kl: false, lr, wd: DET_WEIGHT_DECAY }))).toBeLessThan(2e-6);
    const m = await engine.evaluate(data, 4);
    expect(m.samples).toBe(6);
    expect(m.macroF1).toBeGreaterThanOrEqual(0);
    expect(m.macroF1).toBeLessThanOrEqual(1);
    expect(engine.getOptimizerState()).toBeNull();
    // Same predictions as the DET engine's scores for the same weights (which are in %).
    const det = createDetEngine(tiny);
    det.setPersonalWeights(engine.getWeights());
    det.setDeputyWeights(engine.getWeights());
    const s = await det.scores(data, 4);
    expect(s.personal).toBeCloseTo(100 * m.macroF1!, 9);
    det.dispose();
    engine.dispose();
  });

  it('refuses models it cannot build', () => {
    expect(() => createDetEngine({ ...tiny, kind: 'unet' })).toThrow(/vgg-slim/);
  });
});
