import { MemoryDataset, type Batch, type Dataset } from '@fedward/models';
import type { PatientDataset } from './training-state';

export interface PatientSample {
  x: Float32Array;
  label: number;
  patient: string;
}

/** Samples in memory with their patient: Node clients, tests and the simulator split it into sub-clients. */
export class MemoryPatientDataset implements PatientDataset {
  readonly size: number;
  readonly patients: Readonly<Record<string, number>>;
  private readonly all: MemoryDataset;

  constructor(private readonly samples: readonly PatientSample[]) {
    this.size = samples.length;
    const counts: Record<string, number> = {};
    for (const s of samples) counts[s.patient] = (counts[s.patient] ?? 0) + 1;
    this.patients = counts;
    this.all = new MemoryDataset(samples);
  }

  batches(batchSize: number, options?: { shuffleSeed?: number }): AsyncIterable<Batch> {
    return this.all.batches(batchSize, options);
  }

  subset(patients: readonly string[]): Dataset {
    const keep = new Set(patients);
    return new MemoryDataset(this.samples.filter((s) => keep.has(s.patient)));
  }
}
