import { normalizeSlice, syntheticFederationTensors, type FederationDifficulty, type HospitalTensors } from '@fedward/data';
import {
  MemoryDataset,
  createDetEngine,
  createModel,
  detStageNumber,
  type Batch,
  type Dataset,
  type DetEngine,
  type ModelEngine,
} from '@fedward/models';
import { DET_ROUND_START, nextDetStage, prrflLearningRate, type DetStage } from '@fedward/personalization';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { createPlainAggregator } from '../dp';
import { aggregatePersonalized } from '../personalization/aggregate';

export const PERSONALIZATION_STRATEGIES = ['fedavg', 'fedbn', 'prr-fl'] as const;
export type PersonalizationStrategy = (typeof PERSONALIZATION_STRATEGIES)[number];

export interface PersonalizationSimOptions {
  strategies: readonly PersonalizationStrategy[];
  hospitals: number;
  rounds: number;
  localEpochs: number;
  seed: number;
  /** Slice side in pixels (default 32). */
  size?: number;
  slicesPerHospital?: number;
  /** The generated task (default 'hard'). */
  difficulty?: FederationDifficulty;
  batchSize?: number;
  /** Round 0's SGD learning rate; halved every 5 rounds (the seed's schedule, for every strategy). */
  learningRate?: number;
  /** vgg-slim's first-block width (default 8). */
  width?: number;
  /**
   * 'unit' (default) keeps each hospital's windowed intensities, so scanners differ in what the
   * network sees (the feature shift FedBN and PRR-FL are about); 'zscore' cancels scale and offset.
   */
  normalization?: 'unit' | 'zscore';
  /** PFA's share of the spectrum at round 0 (the seed's --l_rate, default 0.7). */
  lRate?: number;
  onPoint?: (strategy: PersonalizationStrategy, point: CurvePoint) => void;
}

/** One measurement of the models each hospital would use, averaged over hospitals. */
export interface CurvePoint {
  /** Communication round, 0-based (the seed's `a`). */
  round: number;
  /** Local epochs done in this round (1..E); E for the point after communication. */
  epoch: number;
  /** Mean over hospitals of held-out accuracy, in [0, 1]. */
  metric: number;
  /** Mean over hospitals of held-out macro-F1, in [0, 1]. */
  macro_f1: number;
  /** True for the measurement right after the server's result replaced (part of) the local model. */
  after_communication: boolean;
  /** PRR-FL: each hospital's DET stage in this epoch (1 Recover, 2 Exchange, 3 Sublimate). */
  stages?: number[];
}

export type PersonalizationCurves = Record<PersonalizationStrategy, CurvePoint[]>;

interface Hospital {
  id: string;
  /** For training: a final batch of one sample is skipped. */
  train: Dataset;
  /** Every training sample, for DET's stage decision. */
  trainAll: MemoryDataset;
  trainSize: number;
  test: MemoryDataset;
}

/**
 * Drops a final batch of one sample: BatchNorm1d in training needs two (torch refuses one;
 * TF.js would normalise it to β and pull the moving variance towards 0).
 */
class NoSingletonBatches implements Dataset {
  readonly size: number;
  constructor(private readonly inner: Dataset) {
    this.size = inner.size;
  }
  async *batches(batchSize: number, options?: { shuffleSeed?: number }): AsyncIterable<Batch> {
    for await (const b of this.inner.batches(batchSize, options)) if (b.size > 1) yield b;
  }
}

/** Every fifth patient is held out (whole patients), as the Node simulator does. */
function prepare(t: HospitalTensors, normalization: 'unit' | 'zscore'): Hospital {
  const area = t.size * t.size;
  const train: { x: Float32Array; label: number }[] = [];
  const test: { x: Float32Array; label: number }[] = [];
  for (let k = 0; k < t.count; k++) {
    const x = normalizeSlice(t.x.slice(k * area, (k + 1) * area), normalization);
    (t.patients[k]! % 5 === 0 ? test : train).push({ x, label: t.y[k]! });
  }
  const trainAll = new MemoryDataset(train);
  return { id: t.hospitalId, train: new NoSingletonBatches(trainAll), trainAll, trainSize: train.length, test: new MemoryDataset(test) };
}

const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

async function drain<T, R>(gen: AsyncGenerator<T, R>): Promise<R> {
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

interface Run {
  /** One local epoch on hospital k. */
  trainEpoch(k: number, at: { round: number; epoch: number; learningRate: number }): Promise<void>;
  /** Held-out accuracy and macro-F1 (fractions) of the model hospital k uses. */
  evaluate(k: number): Promise<{ accuracy: number; f1: number }>;
  communicate(round: number): void;
  stages?(): number[];
  dispose(): void;
}

function plainRun(strategy: 'fedavg' | 'fedbn', spec: ModelSpec, hospitals: readonly Hospital[], o: Required<Pick<PersonalizationSimOptions, 'seed' | 'batchSize' | 'rounds'>>): Run {
  const engines: ModelEngine[] = hospitals.map(() => createModel(spec));
  const initial = engines[0]!.getWeights();
  engines.forEach((e) => e.setWeights(initial));
  return {
    async trainEpoch(k, at) {
      await drain(engines[k]!.trainEpoch(hospitals[k]!.train, { epoch: at.epoch, batchSize: o.batchSize, learningRate: at.learningRate, optimizer: 'sgd', shuffleSeed: o.seed * 7919 + at.round * 101 + at.epoch }));
    },
    async evaluate(k) {
      const m = await engines[k]!.evaluate(hospitals[k]!.test, 64);
      return { accuracy: m.accuracy, f1: m.macroF1! };
    },
    communicate(round) {
      const updates = engines.map((e, k) => ({ hospital: hospitals[k]!.id, weights: e.getWeights(), samples: hospitals[k]!.trainSize }));
      if (strategy === 'fedavg') {
        // Every tensor, BatchNorm moving statistics included, sample-weighted (the server's FedAvg).
        const acc = createPlainAggregator({ global: updates[0]!.weights, weighting: 'samples' });
        for (const u of updates) acc.add(u.weights, { samples: u.samples });
        const { weights: global } = acc.result();
        engines.forEach((e) => e.setWeights(global));
      } else {
        const results = aggregatePersonalized({ strategy: 'fedbn' }, updates, { round, rounds: o.rounds });
        engines.forEach((e, k) => e.setWeights(results.get(hospitals[k]!.id)!));
      }
    },
    dispose() {
      engines.forEach((e) => e.dispose());
    },
  };
}

function prrflRun(spec: ModelSpec, hospitals: readonly Hospital[], o: Required<Pick<PersonalizationSimOptions, 'seed' | 'batchSize' | 'rounds' | 'localEpochs' | 'lRate'>>): Run {
  const engines: DetEngine[] = hospitals.map(() => createDetEngine(spec));
  const initial = engines[0]!.getPersonalWeights();
  for (const e of engines) {
    e.setPersonalWeights(initial);
    e.setDeputyWeights(initial);
  }
  const stage: DetStage[] = hospitals.map(() => DET_ROUND_START);
  const lastStages: number[] = hospitals.map(() => 0);
  return {
    async trainEpoch(k, at) {
      const e = engines[k]!;
      const h = hospitals[k]!;
      if (at.epoch === 1) stage[k] = DET_ROUND_START; // the seed resets the DET stage every round
      // Training-set macro-F1 of both models in evaluation mode, before the epoch (spec §2.5).
      const s = await e.scores(h.trainAll, 64);
      stage[k] = nextDetStage(stage[k]!, { personalized: s.personal, deputy: s.deputy });
      const n = detStageNumber(stage[k] as Exclude<DetStage, 'start'>);
      lastStages[k] = n;
      await drain(
        e.trainEpoch(h.train, {
          epoch: at.epoch,
          batchSize: o.batchSize,
          learningRate: at.learningRate,
          stage: n,
          localEpochs: o.localEpochs,
          shuffleSeed: o.seed * 7919 + at.round * 101 + at.epoch,
        }),
      );
    },
    async evaluate(k) {
      // The personalized model is the one a hospital uses; it is never replaced by the server.
      const e = engines[k]!;
      const m = await e.evaluate(hospitals[k]!.test, 64);
      const s = await e.scores(hospitals[k]!.test, 64);
      return { accuracy: m.personal.accuracy, f1: s.personal / 100 };
    },
    communicate(round) {
      const updates = engines.map((e, k) => ({ hospital: hospitals[k]!.id, weights: e.getDeputyWeights(), samples: hospitals[k]!.trainSize }));
      const results: Map<string, NamedTensor[]> = aggregatePersonalized({ strategy: 'prr-fl', lRate: o.lRate }, updates, { round, rounds: o.rounds });
      engines.forEach((e, k) => e.setDeputyWeights(results.get(hospitals[k]!.id)!));
    },
    stages: () => [...lastStages],
    dispose() {
      engines.forEach((e) => e.dispose());
    },
  };
}

/**
 * The retrogress experiment of PRR-FL (Chen et al. 2021, the README's figure): the same non-IID
 * federation trained with FedAvg, FedBN and PRR-FL, measuring each hospital's model on its own
 * held-out patients after every local epoch and right after every communication. Every strategy
 * uses the seed's local optimiser (SGD, weight decay 1e-6, no momentum, lr·0.5^⌊a/5⌋) and the
 * same initial weights, data and shuffles. The TF.js backend is whatever the caller activated.
 */
export async function simulatePersonalization(options: PersonalizationSimOptions): Promise<PersonalizationCurves> {
  const o = {
    size: 32,
    slicesPerHospital: 160,
    batchSize: 16,
    learningRate: 0.05,
    normalization: 'unit' as const,
    lRate: 0.7,
    ...options,
  };
  if (o.strategies.length === 0) throw new Error('no strategy to simulate');
  for (const s of o.strategies) if (!PERSONALIZATION_STRATEGIES.includes(s)) throw new Error(`unknown strategy "${String(s)}"`);
  const tensors = syntheticFederationTensors({ hospitals: o.hospitals, task: 'classification', size: o.size, slicesPerHospital: o.slicesPerHospital, seed: o.seed, difficulty: o.difficulty });
  const hospitals = tensors.map((t) => prepare(t, o.normalization));
  for (const h of hospitals) if (h.trainSize < 2 || h.test.size < 1) throw new Error(`${h.id} has too few slices (${h.trainSize} train, ${h.test.size} test): raise slicesPerHospital`);
  const spec: ModelSpec = { kind: 'vgg-slim', inputSize: o.size, channels: 1, numClasses: 2, seed: o.seed, normalization: o.normalization, ...(o.width !== undefined && { width: o.width }) };
  const curves = {} as PersonalizationCurves;
  for (const strategy of o.strategies) {
    const run = strategy === 'prr-fl' ? prrflRun(spec, hospitals, o) : plainRun(strategy, spec, hospitals, o);
    const points: CurvePoint[] = [];
    const measure = async (round: number, epoch: number, afterCommunication: boolean) => {
      const results = [];
      for (let k = 0; k < hospitals.length; k++) results.push(await run.evaluate(k));
      const point: CurvePoint = {
        round,
        epoch,
        metric: mean(results.map((r) => r.accuracy)),
        macro_f1: mean(results.map((r) => r.f1)),
        after_communication: afterCommunication,
        ...(run.stages && !afterCommunication && { stages: run.stages() }),
      };
      points.push(point);
      o.onPoint?.(strategy, point);
    };
    try {
      for (let round = 0; round < o.rounds; round++) {
        const learningRate = prrflLearningRate(round, o.learningRate);
        for (let epoch = 1; epoch <= o.localEpochs; epoch++) {
          for (let k = 0; k < hospitals.length; k++) await run.trainEpoch(k, { round, epoch, learningRate });
          await measure(round, epoch, false);
        }
        run.communicate(round);
        await measure(round, o.localEpochs, true);
      }
    } finally {
      run.dispose();
    }
    curves[strategy] = points;
  }
  return curves;
}

/**
 * Per strategy: the last point's accuracy and F1 (after the last communication), the last local
 * epoch's (just before it), and the mean and worst drop from a round's last local epoch to right
 * after its communication (positive = a drop).
 */
export function summarizeCurves(points: readonly CurvePoint[]): {
  finalAccuracy: number;
  finalF1: number;
  lastLocalAccuracy: number;
  lastLocalF1: number;
  meanDropAccuracy: number;
  meanDropF1: number;
  worstDropAccuracy: number;
} {
  const drops: { acc: number; f1: number }[] = [];
  points.forEach((p, i) => {
    const before = points[i - 1];
    if (p.after_communication && before && !before.after_communication) drops.push({ acc: before.metric - p.metric, f1: before.macro_f1 - p.macro_f1 });
  });
  const last = points.at(-1);
  const lastLocal = points.findLast((p) => !p.after_communication);
  return {
    finalAccuracy: last?.metric ?? Number.NaN,
    finalF1: last?.macro_f1 ?? Number.NaN,
    lastLocalAccuracy: lastLocal?.metric ?? Number.NaN,
    lastLocalF1: lastLocal?.macro_f1 ?? Number.NaN,
    meanDropAccuracy: drops.length ? mean(drops.map((d) => d.acc)) : Number.NaN,
    meanDropF1: drops.length ? mean(drops.map((d) => d.f1)) : Number.NaN,
    worstDropAccuracy: drops.length ? Math.max(...drops.map((d) => d.acc)) : Number.NaN,
  };
}
