import { normalizeSlice, syntheticFederationTensors, type HospitalTensors } from '@fedward/data';
import { MemoryDataset, createModel, type ModelEngine } from '@fedward/models';
import type { ModelSpec, NamedTensor, PrivacyConfig } from '@fedward/protocol';
import { splitIntoSubClients } from '@fedward/client';
import { chooseVirtualClients, type VnRule } from '../adaptive-intermediary';
import { DpFedAvgAccumulator } from '../dp-fedavg';
import { FedAvgAccumulator } from '../fedavg';
import { PrivacyBudget } from '../privacy-budget';

export interface SimulationOptions {
  hospitals: number;
  rounds: number;
  /** Noise multiplier; 0 = no DP (plain FedAvg weighted by sample count). */
  z: number;
  /** Sub-clients per hospital, or 'adaptive' (start at 1, probe round, then the rule of §1.5). */
  vn: number | 'adaptive';
  vnRule?: VnRule;
  clip: number;
  seed: number;
  size: number;
  slicesPerHospital: number;
  batchSize: number;
  learningRate: number;
  delta: number;
  onRound?: (row: SimulatedRound) => void;
}

export interface SimulatedRound {
  round: number;
  /** Mean over hospitals of the global model's accuracy on each hospital's held-out patients. */
  metric: number;
  /** Sub-clients per hospital asked for in this round (a hospital with fewer patients gets fewer). */
  vn: number;
  /** Clipped updates averaged (M = Σ sub-clients actually trained). */
  updates: number;
  clip: number | null;
  sigma: number | null;
  epsilon_subclient: number | null;
  epsilon_hospital: number | null;
  /** True for the adaptive probe round whose aggregate is measured, then discarded. */
  probe: boolean;
}

interface Hospital {
  train: Map<number, { x: Float32Array; label: number }[]>;
  test: MemoryDataset;
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

/**
 * A whole federation in one Node process: N hospitals from the generator, each split into VN
 * patient-disjoint sub-clients that train one local epoch from the global model; the server
 * side is Fedward's own DP-FedAvg accumulator, adaptive rule and privacy ledgers.
 */
export async function simulateFederation(o: SimulationOptions): Promise<SimulatedRound[]> {
  const tensors = syntheticFederationTensors({ hospitals: o.hospitals, task: 'classification', size: o.size, slicesPerHospital: o.slicesPerHospital, seed: o.seed });
  const hospitals = tensors.map(prepare);
  const spec: ModelSpec = { kind: 'small-cnn', inputSize: o.size, channels: 1, numClasses: 2, seed: o.seed, normalization: 'zscore' };
  const evaluator = createModel(spec);
  let global: NamedTensor[] = evaluator.getWeights();
  const privacy: PrivacyConfig | null =
    o.z > 0 ? { noiseMultiplier: o.z, clipNorm: o.clip, targetEpsilon: Number.MAX_VALUE, delta: o.delta, unit: 'hospital', accountant: 'rdp' } : null;
  const budget = privacy ? new PrivacyBudget(privacy) : null;
  let vn = o.vn === 'adaptive' ? 1 : o.vn;
  let engines: { engine: ModelEngine; data: MemoryDataset }[][] = [];
  const resplit = () => {
    engines.flat().forEach((e) => e.engine.dispose());
    engines = hospitals.map((h, i) => {
      const counts = Object.fromEntries([...h.train].map(([p, s]) => [String(p), s.length]));
      const split = splitIntoSubClients(counts, vn, o.seed * 1000 + i);
      return split.groups.map((group) => ({
        engine: createModel(spec),
        data: new MemoryDataset(group.flatMap((p) => h.train.get(Number(p))!)),
      }));
    });
  };
  resplit();
  const rows: SimulatedRound[] = [];
  for (let round = 0; round < o.rounds; round++) {
    const probe = round === 0 && o.vn === 'adaptive' && privacy !== null;
    const accumulator = privacy ? new DpFedAvgAccumulator(global, o.clip, o.z) : new FedAvgAccumulator();
    for (const subClients of engines) {
      for (const { engine, data } of subClients) {
        engine.setWeights(global);
        const steps = engine.trainEpoch(data, { epoch: 1, batchSize: o.batchSize, learningRate: o.learningRate, shuffleSeed: o.seed + round });
        while (!(await steps.next()).done);
        accumulator.add(engine.getWeights(), data.size);
      }
    }
    const usedVn = vn;
    // A hospital's sensitivity is (its sub-clients)·C; account for the largest one.
    const maxSubClients = Math.max(...engines.map((s) => s.length));
    let row: SimulatedRound;
    if (accumulator instanceof DpFedAvgAccumulator) {
      const { weights, record } = accumulator.result();
      // The probe's release is still counted: its norms steer every later round.
      const after = budget!.afterRound(round, maxSubClients);
      budget!.adopt(after.ledgers);
      if (!probe) global = weights;
      if (o.vn === 'adaptive') {
        vn = chooseVirtualClients({ noiseNorm: record.noiseNorm, normSum: record.normSum, hospitals: o.hospitals, current: vn, rule: o.vnRule ?? 'default' }).next;
        if (vn !== usedVn) resplit();
      }
      row = { round, metric: 0, vn: usedVn, updates: record.updates, clip: record.clip, sigma: record.sigma, epsilon_subclient: after.epsilon.subClient, epsilon_hospital: after.epsilon.hospital, probe };
    } else {
      global = accumulator.result();
      row = { round, metric: 0, vn: usedVn, updates: engines.flat().length, clip: null, sigma: null, epsilon_subclient: null, epsilon_hospital: null, probe: false };
    }
    evaluator.setWeights(global);
    let sum = 0;
    for (const h of hospitals) sum += (await evaluator.evaluate(h.test)).accuracy;
    row.metric = sum / hospitals.length;
    rows.push(row);
    o.onRound?.(row);
  }
  engines.flat().forEach((e) => e.engine.dispose());
  evaluator.dispose();
  return rows;
}
