import { normalizeSlice, syntheticFederationTensors, type FederationDifficulty, type HospitalTensors } from '@fedward/data';
import { MemoryDataset, createModel, type Batch, type ModelEngine, type RecordDataset } from '@fedward/models';
import type { FederationConfig, ModelSpec, NamedTensor, SecAggStage } from '@fedward/protocol';
import { GridContribution, contributionLength, dpSgdEpsilon, updateDelta } from '@fedward/privacy';
import { ThresholdError, fromRing, runSecAggRound, toRing } from '@fedward/secagg';
import { addSteps, splitIntoSubClients } from '@fedward/client';
import type { VnRule } from '../adaptive-intermediary';
import type { ClipRuleName, DpAggregator, StrategyName } from '../dp';
import { RoundEngine, type EngineConfig } from '../round-engine';

export interface SimulationOptions {
  hospitals: number;
  rounds: number;
  /** Noise multiplier; 0 = no DP (no clip, no noise: the strategy's non-DP twin, uniform weights). */
  z: number;
  /**
   * Sub-clients per hospital: a fixed VN, 'heuristic' (⌊√(z·√d/N)⌋, public inputs only), or
   * 'adaptive' (probe round, then the rule of §1.5 on a noised norm sum).
   */
  vn: number | 'heuristic' | 'adaptive';
  vnRule?: VnRule;
  /** Server strategy (seed spec §1.6). Default 'fedavg'. */
  strategy?: StrategyName;
  /** FedAdam's η_s. */
  serverLearningRate?: number;
  /** How C is chosen (DP only). Default 'fixed'. */
  clipRule?: ClipRuleName;
  /** The fixed rule's C, or the quantile rule's C_0. */
  clip: number;
  /** The median rule's cap (default 25). */
  medianCap?: number;
  /** The quantile rule's σ_b (default z) and γ (default 0.5). */
  countNoise?: number;
  targetQuantile?: number;
  seed: number;
  size: number;
  slicesPerHospital: number;
  /** The generated task (default 'hard'). */
  difficulty?: FederationDifficulty;
  batchSize: number;
  learningRate: number;
  delta: number;
  onRound?: (row: SimulatedRound) => void;
  /**
   * Secure aggregation among the hospitals (DP only): each hospital encodes its own sub-clients'
   * updates and the protocol unmasks only the sum. `drop` hospitals (a different set each round)
   * drop out at `dropStage` of every round's first attempt; a round that fails is redone with all.
   */
  secagg?: { threshold: number; drop: number; dropStage: SecAggStage };
  /**
   * DP-SGD inside every hospital (issue 16): records are patients, sampled at q = batch/patients
   * (Poisson, the default, accounted with the RDP bound; or uniform, exactly `batch` patients without
   * replacement, accounted with deepee's GDP CLT approximation), clip C, noise σ, reduction 'sum'
   * (default) or deepee's 'mean'; each hospital's ε per patient is accounted from its steps.
   */
  dpSgd?: { noiseMultiplier: number; clip: number; sampling?: 'poisson' | 'uniform'; reduction?: 'sum' | 'mean' };
  /** After every (re-)split: the round it follows (−1 for the initial split), the new VN and each hospital's group sizes in slices. */
  onSplit?: (event: { afterRound: number; vn: number; slices: number[][] }) => void;
}

export interface SimulatedRound {
  round: number;
  /** Mean over hospitals of the global model's accuracy on each hospital's held-out patients. */
  metric: number;
  /** Sub-clients per hospital asked for in this round (a hospital with fewer patients gets fewer). */
  vn: number;
  /** Updates averaged (M = Σ sub-clients actually trained). */
  updates: number;
  clip: number | null;
  sigma: number | null;
  /** ε after this round per patient (add/remove one patient's slices) and per hospital; null without DP or when not private. */
  epsilon_patient: number | null;
  epsilon_hospital: number | null;
  /** The adaptive rule's λ̃ from the noised norm sum (null otherwise). */
  lambda: number | null;
  /** Mean local optimizer steps per sub-client (FedNova's τ_eff). */
  steps: number;
  /** True for the adaptive probe round whose aggregate is measured, then discarded. */
  probe: boolean;
  /** DP-SGD: the largest ε per patient of any hospital after this round (its own accountant); absent without DP-SGD. */
  dpSgdEpsilon?: number;
  /** Secure aggregation of the round's last attempt, and the attempts that failed before it (absent without it). */
  secagg?: SimulatedSecAgg;
}

export interface SimulatedSecAgg {
  participants: number;
  threshold: number;
  /** Hospitals dropped in the attempt that completed. */
  dropped: number;
  completed: boolean;
  /** Attempts that failed before (too few left at a stage), each with its message. */
  failed: { dropped: number; stage: SecAggStage; reason: string }[];
}

interface Hospital {
  train: Map<number, { x: Float32Array; label: number }[]>;
  test: MemoryDataset;
}

interface SubClient {
  engine: ModelEngine;
  data: MemoryDataset & RecordDataset;
  /** Patients in it (DP-SGD's records). */
  records: number;
}


/** Every fifth patient is held out, so test slices never share a patient with training. */
function prepare(t: HospitalTensors): Hospital {
  const area = t.size * t.size;
  const train = new Map<number, { x: Float32Array; label: number }[]>();
  const test: { x: Float32Array; label: number }[] = [];
  for (let k = 0; k < t.count; k++) {
    const x = t.x.slice(k * area, (k + 1) * area);
    normalizeSlice(x, 'zscore');
    const sample = { x, label: t.y[k]! };
    const patient = t.patients[k]!;
    if (patient % 5 === 0) test.push(sample);
    else train.set(patient, [...(train.get(patient) ?? []), sample]);
  }
  return { train, test: new MemoryDataset(test) };
}

/** The federation settings the simulated server runs with: the same schema the real server takes. */
export function engineConfigOf(o: SimulationOptions): EngineConfig {
  const strategy = o.strategy ?? 'fedavg';
  if (strategy === 'fedadam' && o.serverLearningRate === undefined) throw new Error('FedAdam needs serverLearningRate');
  const aggregation: FederationConfig['aggregation'] = {
    strategy,
    ...(strategy === 'fedadam' && { serverLearningRate: o.serverLearningRate }),
    // FedNova's public τ̄: one local epoch over a hospital's training share (4 of 5 patients), from public settings.
    ...(strategy === 'fednova' && { publicSteps: Math.max(1, Math.ceil((0.8 * o.slicesPerHospital) / o.batchSize)) }),
  };
  if (!(o.z > 0)) return { aggregation };
  return {
    aggregation,
    privacy: {
      noiseMultiplier: o.z,
      clipNorm: o.clip,
      targetEpsilon: Number.MAX_VALUE,
      delta: o.delta,
      unit: 'hospital',
      accountant: 'rdp',
      virtualClients: o.vn,
      vnRule: o.vnRule ?? 'default',
      clipRule: o.clipRule ?? 'fixed',
      ...(o.countNoise !== undefined && { countNoise: o.countNoise }),
    },
  };
}

/**
 * A whole federation in one Node process: N hospitals from the generator, each split into VN
 * sub-clients by a keyed hash of its patients (one patient, one sub-client). Every round each
 * sub-client starts from the global model and trains one local epoch with its OWN optimizer
 * (AMSGrad by default), whose state it keeps while VN stays the same; when VN changes every
 * sub-client starts afresh (merging the old states, as the seed does, would spread one patient
 * into every new sub-client). An empty sub-client sends a zero update, so each hospital sends
 * exactly VN. The server side is the real server's round engine (`../round-engine`).
 */
export async function simulateFederation(o: SimulationOptions): Promise<SimulatedRound[]> {
  const tensors = syntheticFederationTensors({ hospitals: o.hospitals, task: 'classification', size: o.size, slicesPerHospital: o.slicesPerHospital, seed: o.seed, difficulty: o.difficulty ?? 'hard' });
  const hospitals = tensors.map(prepare);
  const spec: ModelSpec = { kind: 'small-cnn', inputSize: o.size, channels: 1, numClasses: 2, seed: o.seed, normalization: 'zscore' };
  const evaluator = createModel(spec);
  let global: NamedTensor[] = evaluator.getWeights();
  const engine = new RoundEngine(engineConfigOf(o), global.reduce((n, t) => n + t.values.length, 0));
  let vn = 0;

  const subClients: SubClient[][] = hospitals.map(() => []);
  /** (Re-)splits every hospital into `next` sub-clients; every optimizer state starts fresh. */
  const split = (afterRound: number, next: number) => {
    vn = next;
    const slices: number[][] = [];
    hospitals.forEach((h, i) => {
      const counts = Object.fromEntries([...h.train].map(([p, s]) => [String(p), s.length]));
      const groups = splitIntoSubClients(counts, vn, `simulation:${o.seed}:hospital:${i}`).groups;
      slices.push(groups.map((g) => g.reduce((n, p) => n + h.train.get(Number(p))!.length, 0)));
      // Engines are reused (their weights are set every round); their optimizer state is reset.
      const engines = subClients[i]!.map((s) => s.engine);
      while (engines.length > groups.length) engines.pop()!.dispose();
      while (engines.length < groups.length) engines.push(createModel(spec));
      subClients[i] = groups.map((group, g) => {
        const engine = engines[g]!;
        engine.setOptimizerState(null);
        const samples = group.map((p) => h.train.get(Number(p))!);
        // Under DP-SGD each patient is one record: one batch of its slices.
        const recordBatches = async (): Promise<Batch[]> => {
          const out: Batch[] = [];
          for (const s of samples) for await (const b of new MemoryDataset(s).batches(s.length)) out.push(b);
          return out;
        };
        return { engine, data: Object.assign(new MemoryDataset(samples.flat()), { recordBatches }), records: samples.length };
      });
    });
    o.onSplit?.({ afterRound, vn, slices });
  };

  const rows: SimulatedRound[] = [];
  /** DP-SGD steps per hospital, per sampling probability (each hospital's own accountant). */
  const dpRuns: { samplingProbability: number; steps: number }[][] = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      const plan = engine.plan(round + 1, hospitals.length);
      if (plan.virtualClients !== vn) split(round - 1, plan.virtualClients);
      const aggregator = engine.open(plan, global);
      // Secure aggregation: each hospital sums its own sub-clients on the round's grid (as a browser hospital does).
      const own = o.secagg ? hospitals.map(() => secaggContribution(aggregator as DpAggregator)) : null;
      let stepSum = 0;
      for (const [i, list] of subClients.entries()) {
        dpRuns[i] ??= [];
        const add = (weights: readonly NamedTensor[], info: { steps: number; samples: number }) => {
          if (!own) return aggregator.add(weights, info);
          const { delta, norm } = updateDelta(weights, global, o.strategy === 'fednova' ? info.steps : 1);
          own[i]!.addDelta(delta, norm);
        };
        for (const { engine: model, data, records } of list) {
          if (data.size === 0) {
            // An empty sub-client still sends its (zero) update.
            add(global, { steps: 1, samples: 1 });
            continue;
          }
          model.setWeights(global);
          const batchRecords = Math.min(o.batchSize, records);
          const it = model.trainEpoch(data, {
            epoch: 1,
            batchSize: o.batchSize,
            learningRate: o.learningRate,
            shuffleSeed: o.seed + round,
            ...(o.dpSgd && {
              dpSgd: { noiseMultiplier: o.dpSgd.noiseMultiplier, clip: o.dpSgd.clip, sampling: o.dpSgd.sampling ?? 'poisson', reduction: o.dpSgd.reduction ?? 'sum', batchRecords },
            }),
          });
          let counted = 0;
          let r = await it.next();
          while (!r.done) {
            counted += 1;
            r = await it.next();
          }
          const steps = r.value.steps ?? counted;
          stepSum += steps;
          if (o.dpSgd) dpRuns[i] = addSteps(dpRuns[i]!, batchRecords / records, steps);
          add(model.getWeights(), { steps, samples: data.size });
        }
      }
      const secagg = own ? await secureSum(aggregator as DpAggregator, own, o.secagg!, `simulation/${o.seed}/round-${round + 1}`, round) : undefined;
      const updates = aggregator.count;
      const closed = engine.close(plan, aggregator);
      engine.commit(closed);
      global = closed.weights;
      const dp = closed.dp;
      const row: SimulatedRound = {
        round,
        metric: 0,
        vn: plan.virtualClients,
        updates,
        clip: dp?.clip ?? null,
        sigma: dp?.sigma ?? null,
        epsilon_patient: dp?.epsilon?.patient ?? null,
        epsilon_hospital: dp?.epsilon?.hospital ?? null,
        lambda: dp?.adaptive?.lambda ?? null,
        steps: stepSum / updates,
        probe: plan.probe,
        ...(o.dpSgd && {
          dpSgdEpsilon: Math.max(...dpRuns.map((runs) => dpSgdEpsilon({ runs, noiseMultiplier: o.dpSgd!.noiseMultiplier, delta: o.delta, sampling: o.dpSgd!.sampling ?? 'poisson' }).epsilon)),
        }),
        ...(secagg && { secagg }),
      };
      evaluator.setWeights(global);
      let sum = 0;
      for (const h of hospitals) sum += (await evaluator.evaluate(h.test)).accuracy;
      row.metric = sum / hospitals.length;
      rows.push(row);
      o.onRound?.(row);
    }
  } finally {
    subClients.flat().forEach((s) => s.engine.dispose());
    evaluator.dispose();
  }
  return rows;
}

/** A hospital's own sum on the round's grid: the shape and grid of the server's DP aggregator. */
function secaggContribution(aggregator: DpAggregator): GridContribution {
  const c = aggregator.contribution;
  if (!c) throw new Error('secure aggregation needs the fixed or quantile clip rule');
  return new GridContribution(c.shape, c.grid);
}

/**
 * Runs the secure aggregation protocol among the hospitals' own sums (in memory, every stage as
 * the real server and clients run it) and gives the unmasked total to the aggregator. The first
 * attempt drops `drop` hospitals (rotating with the round) at `dropStage`; if too few remain the
 * attempt fails and the round is redone with everyone, as the server runs a failed round again.
 */
async function secureSum(aggregator: DpAggregator, own: GridContribution[], o: { threshold: number; drop: number; dropStage: SecAggStage }, context: string, round: number): Promise<SimulatedSecAgg> {
  const ids = own.map((_, i) => `hospital-${String(i + 1).padStart(3, '0')}`);
  const inputs = new Map(own.map((c, i) => [ids[i]!, toRing(c.toFlat())]));
  const updates = new Map(own.map((c, i) => [ids[i]!, c.updates]));
  const failed: SimulatedSecAgg['failed'] = [];
  const first = Array.from({ length: Math.min(o.drop, ids.length) }, (_, k) => ids[(round * o.drop + k) % ids.length]!);
  for (const dropping of o.drop > 0 ? [first, []] : [[]]) {
    try {
      // A hospital that drops at 'advertise' never appears; the others answer up to the stage
      // before theirs (the driver names a dropout by the last stage it completed).
      let present = inputs;
      if (o.dropStage === 'advertise' && dropping.length > 0) {
        present = new Map([...inputs].filter(([id]) => !dropping.includes(id)));
        if (present.size < o.threshold) {
          throw new Error(`secure aggregation failed at stage "advertise": ${present.size} of ${ids.length} participants advertised their keys; the threshold is ${o.threshold}`);
        }
      }
      const after = { advertise: null, share: 'advertise', mask: 'mask', reveal: 'reveal' } as const;
      const stage = after[o.dropStage];
      const result = await runSecAggRound({
        context: `${context}/attempt-${failed.length + 1}`,
        threshold: o.threshold,
        inputs: present,
        dropAfter: dropping.length && stage ? [{ stage, ids: dropping }] : [],
      });
      const summed = result.survivors.reduce((n, id) => n + updates.get(id)!, 0);
      const length = contributionLength(own[0]!.shape);
      const sum = fromRing(result.sum);
      if (sum.length !== length) throw new Error(`the unmasked sum has ${sum.length} values, ${length} expected`);
      aggregator.addSum(sum, summed);
      return { participants: ids.length, threshold: o.threshold, dropped: dropping.length, completed: true, failed };
    } catch (e) {
      if (dropping.length === 0) throw e;
      const reason = e instanceof ThresholdError ? `secure aggregation failed at ${e.message}` : (e as Error).message;
      failed.push({ dropped: dropping.length, stage: o.dropStage, reason });
    }
  }
  throw new Error('unreachable: the attempt without dropouts either completes or throws');
}
