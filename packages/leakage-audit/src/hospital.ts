import { createModel, createSmallCnnVb, MemoryDataset, SGD_WEIGHT_DECAY } from '@fedward/models';
import { dpSgdEpsilon, type RandomFill } from '@fedward/privacy';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';

/**
 * A demo hospital's local training on the product's own engine (ModelEngine.trainEpoch with the
 * 'sgd' optimizer, one local epoch = one step on the whole batch), from the global weights; the
 * update Δ = θ_local − θ_global it would send.
 */
export interface HospitalTraining {
  spec: ModelSpec;
  global: readonly NamedTensor[];
  /** [N, H, W, 1] slices in [0, 1], flattened, and their labels. */
  x: Float32Array;
  labels: Int32Array;
  localSteps: number;
  learningRate: number;
  /**
   * Train with the product's DP-SGD instead: every slice is its own record (the demo slices an
   * audit takes come from different patients, so a record is a patient), all records per step
   * (B = N, so q = 1 under Poisson sampling, as the client plans it with batch ≥ records).
   */
  dpSgd?: { noiseMultiplier: number; clip: number; random?: (buffer: Uint32Array) => void };
  /**
   * small-cnn-vb (PRECODE): where the bottleneck's ε come from. Absent: the product's own path,
   * the CSPRNG, fresh on every forward pass and never revealed; a test passes a seeded source to
   * replay the hospital's draws.
   */
  vbNoise?: RandomFill;
}

/** The hospital's normalisation (data/preprocess normalizeSlice 'zscore'; sd 0 divides by 1). */
function zscore(v: Float32Array): Float32Array {
  const mean = v.reduce((a, b) => a + b, 0) / v.length;
  const sd = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length) || 1;
  return v.map((p) => (p - mean) / sd);
}

export async function hospitalUpdate(h: HospitalTraining): Promise<Float32Array[]> {
  if (h.spec.normalization !== 'zscore') throw new Error(`the audit's hospital normalises with zscore (got ${h.spec.normalization})`);
  const area = h.x.length / h.labels.length;
  if (h.vbNoise && h.spec.kind !== 'small-cnn-vb') throw new Error(`vbNoise is the bottleneck's ε of small-cnn-vb (got model '${h.spec.kind}')`);
  const engine = h.vbNoise ? createSmallCnnVb(h.spec, h.vbNoise) : createModel(h.spec);
  try {
    engine.setWeights(h.global);
    const data = new MemoryDataset(Array.from(h.labels, (label, i) => ({ x: zscore(h.x.slice(i * area, (i + 1) * area)), label })));
    const dpSgd = h.dpSgd && { ...h.dpSgd, sampling: 'poisson' as const, batchRecords: h.labels.length };
    for (let epoch = 0; epoch < h.localSteps; epoch++) {
      const run = engine.trainEpoch(data, { epoch, batchSize: 16, learningRate: h.learningRate, optimizer: 'sgd', weightDecay: SGD_WEIGHT_DECAY, ...(dpSgd && { dpSgd }) });
      while (!(await run.next()).done);
    }
    const local = engine.getWeights();
    return local.map((w, i) => Float32Array.from(w.values, (v, k) => v - h.global[i]!.values[k]!));
  } finally {
    engine.dispose();
  }
}

/**
 * ε per patient that the hospital's local accountant (client/dp-sgd-local localEpsilon, Poisson:
 * the Zhu–Wang RDP bound) books for `localSteps` DP-SGD steps at q = 1 and noise σ.
 */
export function dpSgdPatientEpsilon(noiseMultiplier: number, localSteps: number, delta: number): number {
  return dpSgdEpsilon({ runs: [{ samplingProbability: 1, steps: localSteps }], noiseMultiplier, delta, sampling: 'poisson' }).epsilon;
}
