import { dpSgdEpsilon } from '@fedward/privacy';
import type { Batch, Dataset, RecordDataset } from '@fedward/models';
import type { FederationConfig } from '@fedward/protocol';
import { isPatientDataset } from './training-state';

/** DP-SGD steps this hospital has taken, per sampling probability (kept with the training state). */
export type DpSgdRuns = { samplingProbability: number; steps: number }[];

/**
 * The records DP-SGD protects: each patient's slices when the data has a patient index (the unit
 * clinicians mean), each slice otherwise (then the page says "per slice", not "per patient").
 */
export function dpSgdRecords(data: Dataset): { records: RecordDataset; unit: 'patient' | 'slice'; count: number } {
  if (isPatientDataset(data)) {
    const patients = Object.keys(data.patients).sort();
    const records: RecordDataset = {
      size: data.size,
      batches: (b, o) => data.batches(b, o),
      async recordBatches(): Promise<Batch[]> {
        const out: Batch[] = [];
        for (const p of patients) {
          const slices = data.subset([p]);
          for await (const b of slices.batches(Math.max(1, slices.size))) out.push(b);
        }
        return out;
      },
    };
    return { records, unit: 'patient', count: patients.length };
  }
  return { records: data as RecordDataset, unit: 'slice', count: data.size };
}

/**
 * The local accountant: ε per record after `runs` (plus a planned run), for this federation's
 * DP-SGD settings. The sampler picks it: Poisson, the strict RDP bound; uniform (fixed batches
 * without replacement), deepee's GDP CLT approximation. The training loop, the watchdog and the
 * ε sent with an update all call this, so they always use the same one.
 */
export function localEpsilon(config: NonNullable<FederationConfig['dpSgd']>, runs: DpSgdRuns): number {
  return dpSgdEpsilon({ runs, noiseMultiplier: config.noiseMultiplier, delta: config.delta, sampling: config.sampling }).epsilon;
}

/**
 * Steps one local epoch takes over `records` records with batch B (as the engine runs it): B is
 * expected under Poisson sampling, exact under uniform sampling (then q = B/records exactly).
 */
export function stepsPerEpoch(records: number, batchRecords: number): number {
  return Math.max(1, Math.round(records / batchRecords));
}

/** Adds `steps` at probability q to the runs (one entry per q). */
export function addSteps(runs: DpSgdRuns, samplingProbability: number, steps: number): DpSgdRuns {
  const same = runs.find((r) => r.samplingProbability === samplingProbability);
  return same ? runs.map((r) => (r === same ? { ...r, steps: r.steps + steps } : r)) : [...runs, { samplingProbability, steps }];
}
