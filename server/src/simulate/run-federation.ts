import { normalizeSlice, syntheticFederationTensors, type HospitalTensors } from '@fedward/data';
import { MemoryDataset, createModel, mergeOptimizerStates, type ModelEngine, type OptimizerState } from '@fedward/models';
import type { ModelSpec, NamedTensor, PrivacyConfig } from '@fedward/protocol';
import { splitIntoSubClients } from '@fedward/client';
import { chooseVirtualClients, type VnRule } from '../adaptive-intermediary';
import { createDpAggregator, createPlainAggregator, emptyServerState, type ClipRule, type ClipRuleName, type ServerState, type Strategy, type StrategyName } from '../dp';
import { PrivacyBudget } from '../privacy-budget';

export interface SimulationOptions {
  hospitals: number;
  rounds: number;
  /** Noise multiplier; 0 = no DP (no clip, no noise: the strategy's non-DP twin, uniform weights). */
  z: number;
  /** Sub-clients per hospital, or 'adaptive' (start at 1, probe round, then the rule of §1.5). */
  vn: number | 'adaptive';
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
  batchSize: number;
  learningRate: number;
  delta: number;
  onRound?: (row: SimulatedRound) => void;
  /**
   * After every (re-)split: the round it follows (−1 for the initial split), the new VN and, per
   * hospital, the `step` of the merged optimizer state its new sub-clients start from (null: fresh).
   */
  onSplit?: (event: { afterRound: number; vn: number; mergedSteps: (number | null)[] }) => void;
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
  epsilon_subclient: number | null;
  epsilon_hospital: number | null;
  /** λ = ‖noise‖/Σ‖Δ_j‖ (DP only). */
  lambda: number | null;
  /** Mean local optimizer steps per sub-client (FedNova's τ_eff). */
  steps: number;
  /** True for the adaptive probe round whose aggregate is measured, then discarded. */
  probe: boolean;
}

interface Hospital {
  train: Map<number, { x: Float32Array; label: number }[]>;
  test: MemoryDataset;
}

interface SubClient {
  engine: ModelEngine;
  data: MemoryDataset;
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

function clipRuleOf(o: SimulationOptions): ClipRule {
  switch (o.clipRule ?? 'fixed') {
    case 'fixed':
      return { kind: 'fixed', clip: o.clip };
    case 'median':
      return { kind: 'median', cap: o.medianCap };
    case 'quantile':
      return { kind: 'quantile', initialClip: o.clip, countNoise: o.countNoise, targetQuantile: o.targetQuantile };
  }
}

function strategyOf(o: SimulationOptions): Strategy {
  const name = o.strategy ?? 'fedavg';
  if (name === 'fedadam') {
    if (o.serverLearningRate === undefined) throw new Error('FedAdam needs serverLearningRate');
    return { kind: 'fedadam', learningRate: o.serverLearningRate };
  }
  return { kind: name };
}

/**
 * A whole federation in one Node process: N hospitals from the generator, each split into VN
 * patient-disjoint sub-clients. Every round each sub-client starts from the global model and
 * trains one local epoch with its OWN optimizer (AMSGrad by default), whose state it keeps across
 * rounds (the seed's one optimizer per client). When VN changes, each hospital's old sub-clients'
 * optimizer states are merged (mean of m, v, vmax; step of the last) and every new sub-client of
 * that hospital starts from the merged state (seed spec §1.5). The server side is Fedward's own
 * aggregation library (./dp), adaptive rule and privacy ledgers.
 */
export async function simulateFederation(o: SimulationOptions): Promise<SimulatedRound[]> {
  const tensors = syntheticFederationTensors({ hospitals: o.hospitals, task: 'classification', size: o.size, slicesPerHospital: o.slicesPerHospital, seed: o.seed });
  const hospitals = tensors.map(prepare);
  const spec: ModelSpec = { kind: 'small-cnn', inputSize: o.size, channels: 1, numClasses: 2, seed: o.seed, normalization: 'zscore' };
  const evaluator = createModel(spec);
  const strategy = strategyOf(o);
  const clipRule = clipRuleOf(o);
  let global: NamedTensor[] = evaluator.getWeights();
  let serverState: ServerState = emptyServerState();
  const privacy: PrivacyConfig | null =
    o.z > 0 ? { noiseMultiplier: o.z, clipNorm: o.clip, targetEpsilon: Number.MAX_VALUE, delta: o.delta, unit: 'hospital', accountant: 'rdp' } : null;
  const budget = privacy ? new PrivacyBudget(privacy) : null;
  let vn = o.vn === 'adaptive' ? 1 : o.vn;

  const subClients: SubClient[][] = hospitals.map(() => []);
  /** (Re-)splits every hospital into `vn` sub-clients, carrying the merged optimizer state over. */
  const split = (afterRound: number) => {
    const mergedSteps: (number | null)[] = [];
    hospitals.forEach((h, i) => {
      const old = subClients[i]!;
      const states = old.map((s) => s.engine.getOptimizerState()).filter((s): s is OptimizerState => s !== null);
      const merged = states.length > 0 ? mergeOptimizerStates(states) : null;
      mergedSteps.push(merged?.step ?? null);
      const counts = Object.fromEntries([...h.train].map(([p, s]) => [String(p), s.length]));
      const groups = splitIntoSubClients(counts, vn, o.seed * 1000 + i).groups;
      // Engines are reused (their weights are set every round, their optimizer state replaced here).
      const engines = old.map((s) => s.engine);
      while (engines.length > groups.length) engines.pop()!.dispose();
      while (engines.length < groups.length) engines.push(createModel(spec));
      subClients[i] = groups.map((group, g) => {
        const engine = engines[g]!;
        engine.setOptimizerState(merged);
        return { engine, data: new MemoryDataset(group.flatMap((p) => h.train.get(Number(p))!)) };
      });
    });
    o.onSplit?.({ afterRound, vn, mergedSteps });
  };
  split(-1);

  const rows: SimulatedRound[] = [];
  try {
    for (let round = 0; round < o.rounds; round++) {
      const probe = round === 0 && o.vn === 'adaptive' && privacy !== null;
      const aggregator = privacy ? createDpAggregator({ global, z: o.z, clipRule, strategy, serverState }) : createPlainAggregator({ global, strategy, serverState });
      let stepSum = 0;
      for (const list of subClients) {
        for (const { engine, data } of list) {
          engine.setWeights(global);
          const it = engine.trainEpoch(data, { epoch: 1, batchSize: o.batchSize, learningRate: o.learningRate, shuffleSeed: o.seed + round });
          let counted = 0;
          let r = await it.next();
          while (!r.done) {
            counted += 1;
            r = await it.next();
          }
          const steps = r.value.steps ?? counted;
          stepSum += steps;
          aggregator.add(engine.getWeights(), { steps, samples: data.size });
        }
      }
      const usedVn = vn;
      const updates = aggregator.count;
      // A hospital's sensitivity is (its sub-clients)·C; account for the largest one.
      const maxSubClients = Math.max(...subClients.map((s) => s.length));
      const result = aggregator.result();
      const row: SimulatedRound = {
        round,
        metric: 0,
        vn: usedVn,
        updates,
        clip: null,
        sigma: null,
        epsilon_subclient: null,
        epsilon_hospital: null,
        lambda: null,
        steps: stepSum / updates,
        probe,
      };
      if (probe) {
        // The probe's aggregate (and server moments) are discarded as in the seed; the quantile
        // rule's C_{t+1} is kept: its count was released with noise and is accounted below.
        serverState = { ...serverState, clip: result.serverState.clip };
      } else {
        global = result.weights;
        serverState = result.serverState;
      }
      if ('sigma' in result.record) {
        const record = result.record;
        // The probe's release is still counted: its norms steer every later round.
        const after = budget!.afterRound(round, maxSubClients);
        budget!.adopt(after.ledgers);
        Object.assign(row, { clip: record.clip, sigma: record.sigma, lambda: record.lambda, epsilon_subclient: after.epsilon.subClient, epsilon_hospital: after.epsilon.hospital });
        if (o.vn === 'adaptive' && record.normSum > 0) {
          vn = chooseVirtualClients({ noiseNorm: record.noiseNorm, normSum: record.normSum, hospitals: o.hospitals, current: vn, rule: o.vnRule ?? 'default' }).next;
          if (vn !== usedVn) split(round);
        }
      }
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
