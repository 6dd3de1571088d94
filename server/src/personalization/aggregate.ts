import { defaultTensorRole, progressiveFourierAggregate } from '@fedward/personalization';
import type { NamedTensor, PersonalizationConfig } from '@fedward/protocol';

export interface HospitalUpdate {
  hospital: string;
  weights: readonly NamedTensor[];
  samples: number;
}

export interface PersonalizedRound {
  /** Round a (0-based, as the seed counts) and the federation's total, for PFA's progressive threshold. */
  round: number;
  rounds: number;
}

/** The default PFA share at round 0 (the seed quickstart's --l_rate). */
export const DEFAULT_L_RATE = 0.7;

/**
 * One result per hospital, for the strategies that do not send everyone the same model.
 *  - fedbn: every tensor averaged (sample-weighted, float64) except normalisation tensors, which
 *    each hospital keeps (Li et al. 2021, FedBN).
 *  - prr-fl: Progressive Fourier Aggregation over the deputies (spec §2.4): conv and dense kernels
 *    share only their low-frequency amplitude, normalisation stays local, the rest is averaged 1/K.
 * Tensors are matched by position; the caller has already checked names and shapes against the model.
 */
export function aggregatePersonalized(
  config: PersonalizationConfig,
  updates: readonly HospitalUpdate[],
  at: PersonalizedRound,
): Map<string, NamedTensor[]> {
  if (updates.length === 0) throw new Error('no update to aggregate');
  let results: NamedTensor[][];
  switch (config.strategy) {
    case 'fedavg':
      throw new Error('fedavg sends one global model; it has no per-hospital result');
    case 'fedbn':
      results = fedBn(updates);
      break;
    case 'prr-fl':
      results = progressiveFourierAggregate(
        updates.map((u) => u.weights),
        {
          round: at.round,
          rounds: at.rounds,
          lRate: config.lRate ?? DEFAULT_L_RATE,
          divisor: config.divisor === 'seed-4' ? 'seed' : undefined,
        },
      );
      break;
  }
  return new Map(updates.map((u, k) => [u.hospital, results[k]!]));
}

function fedBn(updates: readonly HospitalUpdate[]): NamedTensor[][] {
  const total = updates.reduce((s, u) => s + u.samples, 0);
  const first = updates[0]!.weights;
  const shared = first.map((t, i) => {
    if (defaultTensorRole(t) === 'norm') return null;
    const sum = new Float64Array(t.values.length);
    for (const u of updates) {
      const v = u.weights[i]!.values;
      for (let j = 0; j < sum.length; j++) sum[j]! += v[j]! * u.samples;
    }
    return Float32Array.from(sum, (x) => x / total);
  });
  return updates.map((u) =>
    u.weights.map((t, i) => ({ name: t.name, shape: [...t.shape], values: shared[i] ? Float32Array.from(shared[i]) : Float32Array.from(t.values) })),
  );
}
