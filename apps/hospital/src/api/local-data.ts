import { openSliceStore, patientFraction, type DatasetSummary, type SliceStore } from '@fedward/data';
import type { PatientDataset } from '@fedward/client';
import type { Batch, Dataset } from '@fedward/models';
import type { ModelSpec } from '@fedward/protocol';

/** Share of patients kept for training; the rest are held out to evaluate each global model. */
export const TRAIN_FRACTION = 0.8;

/**
 * The fewest slices a hospital joins with. Training needs every class the model tells apart
 * (a class with one slice teaches it next to nothing, and a local set of one class only pulls
 * the global model towards always answering that class); the held-out set needs a few slices
 * for its accuracy to mean anything (with 1 it can only be 0% or 100%).
 */
export const MINIMUM_SLICES = { trainingPerLabel: 2, heldOut: 4 } as const;

let storePromise: Promise<SliceStore> | null = null;
export const localStore = (): Promise<SliceStore> => (storePromise ??= openSliceStore());

/**
 * The held-out patients, stratified by class: within each class, the ⌈20 %⌉ of its patients whose
 * salted hashes rank highest, but never all of them, so that every class keeps patients to train
 * on; at least one patient overall once there are two. A patient counts in the rarest class among
 * its slices. A threshold on each hash alone would leave a hospital with few patients with no
 * held-out slice at all about one time in four, and a rank over all patients together held out
 * every patient of a rare class now and then (a hospital with two lesion patients of ten: one
 * import in 25, and then it could not join); ranks within classes do neither. The split stays
 * patient-disjoint, fixed for the stored data and secret (it follows the salt).
 */
function heldOutPatients(summary: DatasetSummary): Set<string> {
  const patients = Object.keys(summary.patients);
  if (patients.length < 2) return new Set();
  const rank = (list: string[]) => [...list].sort((a, b) => patientFraction(b) - patientFraction(a) || (a < b ? -1 : 1));
  const rarity = (label: string) => summary.labels[label] ?? 0;
  const classOf = (hash: string): string => {
    const labels = Object.keys(summary.labelsByPatient[hash] ?? {});
    return labels.sort((a, b) => rarity(a) - rarity(b) || (a < b ? -1 : 1))[0] ?? '';
  };
  const byClass = new Map<string, string[]>();
  for (const hash of patients) byClass.set(classOf(hash), [...(byClass.get(classOf(hash)) ?? []), hash]);
  const held = new Set<string>();
  for (const members of byClass.values()) {
    const k = Math.min(members.length - 1, Math.ceil(members.length * (1 - TRAIN_FRACTION)));
    for (const hash of rank(members).slice(0, k)) held.add(hash);
  }
  // Every class a single patient: hold out the top-ranked one (readinessProblems then names what is short).
  if (held.size === 0) held.add(rank(patients)[0]!);
  return held;
}

/** Which side of the split each patient of this summary is on. */
function inSplit(summary: DatasetSummary, split: 'train' | 'test'): (patientHash: string) => boolean {
  const test = heldOutPatients(summary);
  return split === 'test' ? (hash) => test.has(hash) : (hash) => !test.has(hash);
}

/** Counts per split, from the summary's per-patient counts (so no slice has to be read). */
export function splitSizes(summary: DatasetSummary): { train: number; test: number } {
  let train = 0;
  let test = 0;
  const isTrain = inSplit(summary, 'train');
  for (const [hash, n] of Object.entries(summary.patients)) {
    if (isTrain(hash)) train += n;
    else test += n;
  }
  return { train, test };
}

/** Slice counts per label on each side of the split, from the summary (no slice is read). */
export function splitLabelCounts(summary: DatasetSummary): { train: Record<string, number>; test: Record<string, number> } {
  const train: Record<string, number> = {};
  const test: Record<string, number> = {};
  const isTrain = inSplit(summary, 'train');
  for (const [hash, labels] of Object.entries(summary.labelsByPatient)) {
    const side = isTrain(hash) ? train : test;
    for (const [label, n] of Object.entries(labels)) side[label] = (side[label] ?? 0) + n;
  }
  return { train, test };
}

/** The labels in the order of the model's outputs: class k is the k-th label, sorted. */
export const modelClasses = (summary: Pick<DatasetSummary, 'labels'>): string[] => Object.keys(summary.labels).sort();

/** How slices are normalised for this model, in training and in prediction alike. */
export const modelNormalization = (spec: Pick<ModelSpec, 'normalization'>): 'unit' | 'zscore' => spec.normalization ?? 'zscore';

const list = (items: readonly string[]) => items.map((l) => `"${l}"`).join(', ');

/**
 * Why these stored slices cannot join a federation with this model yet, in plain words (empty
 * when they can): an import cut short, the wrong number of labels, too few slices per label to
 * train on, or too few held out to measure the model.
 */
export function readinessProblems(summary: DatasetSummary, model: Pick<ModelSpec, 'kind' | 'numClasses'>): string[] {
  const problems: string[] = [];
  if (summary.unfinishedImport)
    problems.push('The last import did not finish: import the folder again (or remove local data) before joining.');
  const { trainingPerLabel, heldOut } = MINIMUM_SLICES;
  const split = splitSizes(summary);
  if (summary.settings?.task === 'segmentation' || model.kind === 'unet') {
    if (split.train < trainingPerLabel) problems.push(`Only ${split.train} slice${split.train === 1 ? '' : 's'} to train on: at least ${trainingPerLabel} are needed.`);
  } else {
    const labels = modelClasses(summary);
    if (labels.length !== model.numClasses)
      problems.push(
        `This federation's model tells ${model.numClasses} classes apart, but your slices carry ${labels.length} label${labels.length === 1 ? '' : 's'} ` +
          `(${list(labels)}). Import a folder with one subfolder per class${labels.length > model.numClasses ? ', and only the classes the federation uses' : ''}.`,
      );
    const { train } = splitLabelCounts(summary);
    const short = labels.filter((l) => (train[l] ?? 0) < trainingPerLabel);
    if (short.length > 0)
      problems.push(
        `Too few slices to train on for ${short.map((l) => `"${l}" (${train[l] ?? 0})`).join(', ')}: at least ${trainingPerLabel} per label are needed. ` +
          'Import more slices of that class.',
      );
  }
  if (split.test < heldOut)
    problems.push(
      `Only ${split.test} slice${split.test === 1 ? ' is' : 's are'} held out to measure the model: at least ${heldOut} are needed. ` +
        `About ${Math.round((1 - TRAIN_FRACTION) * 100)}% of the patients are held out, so import more patients.`,
    );
  return problems;
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
  const keep = inSplit(summary, split);
  const patients = Object.fromEntries(Object.entries(summary.patients).filter(([hash]) => keep(hash)));
  const classes = modelClasses(summary);
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
