import { describe, expect, it } from 'vitest';
import { patientFraction, type DatasetSummary } from '@fedward/data';
import { MINIMUM_SLICES, readinessProblems, splitLabelCounts, splitSizes, TRAIN_FRACTION } from '../src/api/local-data';

/** Patient hashes whose split side is known (within a class, the held-out patients are the ⌈20 %⌉ whose hash fractions rank highest). */
const TRAIN = (i: number) => `0000${String(i).padStart(4, '0')}`; // fraction ~0: training
const HELD = (i: number) => `ffff${String(i).padStart(4, '0')}`; // fraction ~1: held out

function summaryOf(patients: Record<string, Record<string, number>>, extra: Partial<DatasetSummary> = {}): DatasetSummary {
  const labels: Record<string, number> = {};
  const perPatient: Record<string, number> = {};
  for (const [hash, byLabel] of Object.entries(patients))
    for (const [label, n] of Object.entries(byLabel)) {
      labels[label] = (labels[label] ?? 0) + n;
      perPatient[hash] = (perPatient[hash] ?? 0) + n;
    }
  const slices = Object.values(labels).reduce((a, b) => a + b, 0);
  return {
    slices,
    settings: { size: 32, task: 'classification' },
    labels,
    modalities: { PNG: slices },
    patients: perPatient,
    patientCount: Object.keys(perPatient).length,
    studyCount: Object.keys(perPatient).length,
    patientIds: 'all',
    slicesWithoutPatient: 0,
    slicesByStudy: 0,
    slicesUnchecked: 0,
    batches: 1,
    bytes: 0,
    labelsByPatient: patients,
    unfinishedImport: null,
    ...extra,
  };
}

const model = { kind: 'small-cnn', numClasses: 2 } as const;

describe('minimum slices before joining', () => {
  it('the hashes used here fall on the intended side of the split', () => {
    expect(patientFraction(TRAIN(1))).toBeLessThan(TRAIN_FRACTION);
    expect(patientFraction(HELD(1))).toBeGreaterThanOrEqual(TRAIN_FRACTION);
  });

  it('holds out the top-ranked fifth of the patients, at least one, even when every hash is low', () => {
    // Five patients whose hashes all fall below the old threshold: a per-hash rule held none of them out.
    const five = summaryOf(Object.fromEntries([1, 2, 3, 4, 5].map((i) => [TRAIN(i), { lesion: 2, normal: 2 }])));
    expect(splitSizes(five)).toEqual({ train: 16, test: 4 });
    expect(splitLabelCounts(five).test).toEqual({ lesion: 2, normal: 2 });
    // Ten patients: two held out, the two highest-ranked.
    const ten = summaryOf(Object.fromEntries([...Array(10).keys()].map((i) => [i < 2 ? HELD(i) : TRAIN(i), { lesion: 1 }])));
    expect(splitSizes(ten)).toEqual({ train: 8, test: 2 });
    // One patient: nothing to hold out, which readinessProblems then says.
    expect(splitSizes(summaryOf({ [HELD(1)]: { lesion: 3 } }))).toEqual({ train: 3, test: 0 });
  });

  it('counts labels on each side of the split from the summary alone', () => {
    const s = summaryOf({ [TRAIN(1)]: { lesion: 3 }, [TRAIN(2)]: { normal: 2 }, [HELD(1)]: { lesion: 4 }, [HELD(2)]: { normal: 1 } });
    expect(splitLabelCounts(s)).toEqual({ train: { lesion: 3, normal: 2 }, test: { lesion: 4, normal: 1 } });
    expect(splitSizes(s)).toEqual({ train: 5, test: 5 });
  });

  it('holds out within each class, so a rare class always keeps patients to train on', () => {
    // Two lesion patients among ten (the demo generator's hospital-b): ranked together, both were
    // held out whenever their hashes ranked top, about one salt in 25, and the hospital could not join.
    let state = 7;
    const hash = () => Array.from({ length: 8 }, () => ((state = (state * 1103515245 + 12345) >>> 0) >>> 24).toString(16).padStart(2, '0')).join('');
    for (let salt = 0; salt < 300; salt++) {
      const lesion = [hash(), hash()];
      const normal = Array.from({ length: 8 }, hash);
      const s = summaryOf(Object.fromEntries([...lesion.map((h) => [h, { lesion: 6 }]), ...normal.map((h) => [h, { normal: 4 }])]));
      const { train, test } = splitLabelCounts(s);
      expect(train.lesion).toBe(6); // one of the two lesion patients, never both held out
      expect(test).toEqual({ lesion: 6, normal: 8 }); // ⌈20 %⌉ of each class: 1 of 2, 2 of 8
    }
    // A patient with slices of both classes counts in the rarer one.
    const mixed = summaryOf({ [TRAIN(1)]: { normal: 5, lesion: 1 }, [HELD(1)]: { normal: 5, lesion: 1 }, [TRAIN(2)]: { normal: 3 }, [HELD(2)]: { normal: 3 } });
    expect(splitLabelCounts(mixed).test).toEqual({ normal: 8, lesion: 1 });
  });

  it('a set that has both classes, 2 of each to train on and 4 held out, may join', () => {
    expect(MINIMUM_SLICES).toEqual({ trainingPerLabel: 2, heldOut: 4 });
    expect(readinessProblems(summaryOf({ [TRAIN(1)]: { lesion: 2, normal: 2 }, [HELD(1)]: { lesion: 2, normal: 2 } }), model)).toEqual([]);
  });

  it('a one-label set (what a reload mid-import used to leave) is refused, naming the label', () => {
    const problems = readinessProblems(summaryOf({ [TRAIN(1)]: { lesion: 40 }, [HELD(1)]: { lesion: 10 } }), model);
    expect(problems).toEqual([
      'This federation\'s model tells 2 classes apart, but your slices carry 1 label ("lesion"). Import a folder with one subfolder per class.',
    ]);
  });

  it('too few of a label to train on, or too few held out, is said with the numbers', () => {
    const problems = readinessProblems(summaryOf({ [TRAIN(1)]: { lesion: 5, normal: 1 }, [HELD(1)]: { lesion: 3 } }), model);
    expect(problems).toEqual([
      'Too few slices to train on for "normal" (1): at least 2 per label are needed. Import more slices of that class.',
      'Only 3 slices are held out to measure the model: at least 4 are needed. About 20% of the patients are held out, so import more patients.',
    ]);
  });

  it('more labels than the model has classes are refused too', () => {
    const s = summaryOf({ [TRAIN(1)]: { a: 2, b: 2, c: 2 }, [HELD(1)]: { a: 4 } });
    expect(readinessProblems(s, model)[0]).toMatch(/carry 3 labels \("a", "b", "c"\)\. .*and only the classes the federation uses\./);
  });

  it('an import cut short blocks joining until it is done again or removed', () => {
    const s = summaryOf({ [TRAIN(1)]: { lesion: 2, normal: 2 }, [HELD(1)]: { lesion: 2, normal: 2 } }, { unfinishedImport: { startedAt: 0, slices: 4 } });
    expect(readinessProblems(s, model)).toEqual(['The last import did not finish: import the folder again (or remove local data) before joining.']);
  });

  it('segmentation needs slices to train on and held out, whatever the mask labels', () => {
    const s = summaryOf({ [TRAIN(1)]: { lesion: 2 }, [HELD(1)]: { normal: 4 } }, { settings: { size: 32, task: 'segmentation' } });
    expect(readinessProblems(s, { kind: 'unet', numClasses: 2 })).toEqual([]);
  });
});
