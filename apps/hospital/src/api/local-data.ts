import { openSliceStore, patientFraction, type DatasetSummary, type SliceStore } from '@fedward/data';
import type { PatientDataset } from '@fedward/client';
import type { Batch, Dataset } from '@fedward/models';

/** Share of patients kept for training; the rest are held out to evaluate each global model. */
export const TRAIN_FRACTION = 0.8;

let storePromise: Promise<SliceStore> | null = null;
export const localStore = (): Promise<SliceStore> => (storePromise ??= openSliceStore());

const inSplit = (split: 'train' | 'test') => (patientHash: string) =>
  split === 'train' ? patientFraction(patientHash) < TRAIN_FRACTION : patientFraction(patientHash) >= TRAIN_FRACTION;

/** Counts per split, from the summary's per-patient counts (so no slice has to be read). */
export function splitSizes(summary: DatasetSummary): { train: number; test: number } {
  let train = 0;
  let test = 0;
  for (const [hash, n] of Object.entries(summary.patients)) {
    if (inSplit('train')(hash)) train += n;
    else test += n;
  }
  return { train, test };
}

/**
 * A patient-disjoint split of the local slices that streams from IndexedDB batch by batch,
 * so training never holds the whole dataset in memory. It can be cut further along patients
 * into sub-clients (`subset`), which stream the same way.
 */
export function storeDataset(
  store: SliceStore,
  summary: DatasetSummary,
  split: 'train' | 'test',
  normalization: 'unit' | 'zscore',
): PatientDataset {
  const keep = inSplit(split);
  const patients = Object.fromEntries(Object.entries(summary.patients).filter(([hash]) => keep(hash)));
  const classes = Object.keys(summary.labels).sort();
  const streamOf = (filter: (hash: string) => boolean, size: number): Dataset => ({
    size,
    async *batches(batchSize: number, options: { shuffleSeed?: number } = {}): AsyncIterable<Batch> {
      for await (const b of store.readBatches({
        batchSize,
        classes,
        normalization,
        patientFilter: filter,
        ...(options.shuffleSeed !== undefined ? { shuffleSeed: options.shuffleSeed } : {}),
      })) {
        yield { x: b.x, y: b.labelIndices, size: b.count };
      }
    },
  });
  const all = streamOf(keep, splitSizes(summary)[split]);
  return {
    size: all.size,
    batches: all.batches,
    patients,
    subset(chosen: readonly string[]): Dataset {
      const set = new Set(chosen);
      const size = chosen.reduce((n, h) => n + (patients[h] ?? 0), 0);
      return streamOf((hash) => set.has(hash), size);
    },
  };
}
