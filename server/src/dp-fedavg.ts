import { addGaussianNoise } from '@fedward/privacy';
import type { DpRoundView, NamedTensor } from '@fedward/protocol';

/** What one DP round measured (the wire view adds the ε spent once it is released). */
export type DpRoundRecord = Omit<DpRoundView, 'epsilonSubClient' | 'epsilonHospital'>;

/**
 * DP-FedAvg (McMahan et al. 2018; seed spec §1.4) accumulated one update at a time:
 * each update's delta from the global model is clipped to global L2 norm C and summed in
 * float64; the uniform average over M updates gets Gaussian noise of std z·C/M on every
 * coordinate, from the CSPRNG. Memory is one model's worth however many updates arrive.
 * Uniform (not sample-count) weights keep one update's influence at C/M, which is what the
 * noise is calibrated to.
 */
export class DpFedAvgAccumulator {
  private readonly sums: Float64Array[];
  private count = 0;
  private normSum = 0;
  private clipped = 0;

  constructor(
    private readonly global: readonly NamedTensor[],
    private readonly clip: number,
    private readonly noiseMultiplier: number,
  ) {
    if (!(clip > 0)) throw new Error('the clip bound must be positive');
    if (!(noiseMultiplier >= 0)) throw new Error('the noise multiplier must be ≥ 0');
    this.sums = global.map((t) => new Float64Array(t.values.length));
  }

  /** The sample count is ignored on purpose: weighting by it would break the C/M sensitivity. */
  add(update: readonly NamedTensor[], _samples?: number): void {
    let squares = 0;
    update.forEach((t, i) => {
      const g = this.global[i]!.values;
      const v = t.values;
      for (let k = 0; k < v.length; k++) squares += (v[k]! - g[k]!) ** 2;
    });
    const norm = Math.sqrt(squares);
    const scale = Math.min(1, this.clip / (norm + 1e-15));
    update.forEach((t, i) => {
      const g = this.global[i]!.values;
      const v = t.values;
      const sum = this.sums[i]!;
      for (let k = 0; k < v.length; k++) sum[k]! += (v[k]! - g[k]!) * scale;
    });
    this.normSum += norm;
    if (scale < 1) this.clipped += 1;
    this.count += 1;
  }

  /** The new global model θ + A + noise, and what the round measured. */
  result(): { weights: NamedTensor[]; record: DpRoundRecord } {
    if (this.count === 0) throw new Error('no update to average');
    const m = this.count;
    const sigma = (this.noiseMultiplier * this.clip) / m;
    let aggregateSquares = 0;
    let noiseSquares = 0;
    const weights = this.global.map((t, i) => {
      const average = Float32Array.from(this.sums[i]!, (s) => s / m);
      for (const a of average) aggregateSquares += a * a;
      const noise = new Float32Array(average.length);
      if (sigma > 0) addGaussianNoise(noise, sigma);
      const values = new Float32Array(average.length);
      for (let k = 0; k < values.length; k++) {
        noiseSquares += noise[k]! * noise[k]!;
        values[k] = t.values[k]! + average[k]! + noise[k]!;
      }
      return { name: t.name, shape: [...t.shape], values };
    });
    return {
      weights,
      record: {
        clip: this.clip,
        noiseMultiplier: this.noiseMultiplier,
        sigma,
        updates: m,
        normSum: this.normSum,
        clipped: this.clipped,
        aggregateNorm: Math.sqrt(aggregateSquares),
        noiseNorm: Math.sqrt(noiseSquares),
      },
    };
  }
}
