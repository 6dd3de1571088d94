import type { NamedTensor } from '@fedward/protocol';

/**
 * FedAvg weighted by sample count, accumulated one update at a time in float64 so memory stays
 * one model's worth however many hospitals report, and the sum does not lose precision.
 */
export class FedAvgAccumulator {
  private sums: Float64Array[] | null = null;
  private template: readonly NamedTensor[] | null = null;
  private weight = 0;
  count = 0;

  add(update: readonly NamedTensor[], samples: number): void {
    if (!(samples > 0)) throw new Error('an update must carry a positive sample count');
    if (!this.sums) {
      this.template = update;
      this.sums = update.map((t) => new Float64Array(t.values.length));
    }
    update.forEach((t, i) => {
      const sum = this.sums![i]!;
      const v = t.values;
      for (let k = 0; k < v.length; k++) sum[k]! += v[k]! * samples;
    });
    this.weight += samples;
    this.count += 1;
  }

  result(): NamedTensor[] {
    if (!this.sums || !this.template) throw new Error('no update to average');
    return this.template.map((t, i) => ({
      name: t.name,
      shape: [...t.shape],
      values: Float32Array.from(this.sums![i]!, (s) => s / this.weight),
    }));
  }
}
