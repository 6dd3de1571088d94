/**
 * Where a slice's patient comes from at import (manifest column, DICOM PatientID, file naming,
 * DICOM study, nothing), and how the store's summary reports it (`patientIds`).
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { federationFiles, importFiles, patientFraction, planFederation, sliceToDicom, renderPlannedSlice, type FederationOptions, type FederationSummary, type ImportFile } from '../src/index';
import { sliceStores } from './slice-store-fixture';
import { folderImportFiles, generateFederation } from '../src/node/index';

const options: FederationOptions = { hospitals: 2, task: 'classification', size: 24, slicesPerHospital: 20, seed: 33 };
const plan = planFederation(options);
const hospitalA = plan.hospitals[0]!;

let root: string;
let summaryFile: FederationSummary;
beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fedward-patients-'));
  await generateFederation({ ...options, outDir: join(root, 'png'), format: 'png' });
  await generateFederation({ ...options, outDir: join(root, 'dicom'), format: 'dicom' });
  summaryFile = JSON.parse(readFileSync(join(root, 'png', 'federation.json'), 'utf8')) as FederationSummary;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { fresh: freshStore } = sliceStores('patient-ids');

/** In-memory files of hospital-a's PNG slices, with the path each planned slice is given. */
function pngFiles(pathOf: (slice: (typeof hospitalA.slices)[number]) => string, manifest?: string): ImportFile[] {
  const bytes = new Map([...federationFiles(options, 'png')].map((f) => [f.relativePath, f.bytes]));
  const files: ImportFile[] = hospitalA.slices.map((s) => {
    const data = bytes.get(`hospital-a/${s.label}/${s.baseName}.png`)!;
    const relativePath = `picked/${pathOf(s)}`;
    return { name: relativePath.split('/').pop()!, relativePath, bytes: async () => data };
  });
  if (manifest !== undefined) {
    const data = new TextEncoder().encode(manifest);
    files.push({ name: 'manifest.csv', relativePath: 'picked/manifest.csv', bytes: async () => data });
  }
  return files;
}

/** Slices per planned patient, as the summary's per-patient counts should be when grouped by patient. */
const plannedCounts = (): number[] =>
  hospitalA.patients.map((p) => hospitalA.slices.filter((s) => s.patient === p).length).sort((a, b) => a - b);

describe('patient ids at import', () => {
  it('generated PNG: the manifest patient column groups slices into the planned patients ("all")', async () => {
    const store = await freshStore();
    const result = await importFiles(await folderImportFiles(join(root, 'png', 'hospital-a')), { store, targetSize: 16 });
    expect(result.failed).toEqual([]);
    expect(result.patients).toEqual({ patientIds: 'all', withPatient: 20, byStudy: 0, withoutPatient: 0 });
    const s = result.summary;
    expect(s.patientIds).toBe('all');
    expect(s.slicesWithoutPatient).toBe(0);
    expect(s.patientCount).toBe(summaryFile.hospitals[0]!.patients);
    expect(s.patientCount).toBeLessThan(s.slices);
    expect(Object.values(s.patients).sort((a, b) => a - b)).toEqual(plannedCounts());
    // The held-out split is by patient hash: every slice of a patient lands on the same side.
    for await (const b of store.readBatches({ batchSize: 64, patientFilter: (p) => patientFraction(p) >= 0.5 }))
      for (const p of b.patientHashes) expect(patientFraction(p)).toBeGreaterThanOrEqual(0.5);
  });

  it('a PNG folder without a manifest or a naming pattern: every slice is its own unit ("none")', async () => {
    const store = await freshStore();
    const files = (await folderImportFiles(join(root, 'png', 'hospital-a'))).filter((f) => !f.name.endsWith('.csv'));
    const result = await importFiles(files, { store, targetSize: 16 });
    expect(result.patients).toEqual({ patientIds: 'none', withPatient: 0, byStudy: 0, withoutPatient: 20 });
    expect(result.summary).toMatchObject({ patientIds: 'none', slicesWithoutPatient: 20, slicesByStudy: 0, slicesUnchecked: 0, patientCount: 20 });
  });

  it('reads <patient>__<anything>.png file names', async () => {
    const store = await freshStore();
    const result = await importFiles(pngFiles((s) => `${s.label}/${s.patient.patientId}__${s.baseName}.png`), { store, targetSize: 16 });
    expect(result.summary).toMatchObject({ patientIds: 'all', slices: 20, patientCount: hospitalA.patients.length });
    expect(result.summary.labels).toEqual(summaryFile.hospitals[0]!.counts);
  });

  it('reads patient-<id>/ folders, and still takes the label from the class folder above', async () => {
    const store = await freshStore();
    const result = await importFiles(pngFiles((s) => `${s.label}/patient-${s.patient.patientId}/${s.baseName}.png`), { store, targetSize: 16 });
    expect(result.failed).toEqual([]);
    expect(result.summary).toMatchObject({ patientIds: 'all', patientCount: hospitalA.patients.length });
    expect(result.summary.labels).toEqual(summaryFile.hospitals[0]!.counts);
  });

  it('the manifest column may be patient_id or PatientID; rows without an id make the import "some"', async () => {
    for (const column of ['patient_id', 'PatientID']) {
      const store = await freshStore();
      // The first patient's rows leave the cell empty: those slices have no id.
      const first = hospitalA.patients[0]!;
      const rows = hospitalA.slices.map((s) => `${s.label}/${s.baseName}.png,${s.label},${s.patient === first ? '' : s.patient.patientId}`);
      const result = await importFiles(pngFiles((s) => `${s.label}/${s.baseName}.png`, `file,label,${column}\n${rows.join('\n')}\n`), { store, targetSize: 16 });
      const without = hospitalA.slices.filter((s) => s.patient === first).length;
      expect(result.patients).toEqual({ patientIds: 'some', withPatient: 20 - without, byStudy: 0, withoutPatient: without });
      expect(result.summary).toMatchObject({ patientIds: 'some', slicesWithoutPatient: without, patientCount: hospitalA.patients.length - 1 + without });
    }
  });

  it('DICOM with PatientID: "all", grouped into the planned patients', async () => {
    const store = await freshStore();
    const result = await importFiles(await folderImportFiles(join(root, 'dicom', 'hospital-a')), { store, targetSize: 16 });
    expect(result.summary).toMatchObject({ patientIds: 'all', slicesWithoutPatient: 0, patientCount: hospitalA.patients.length });
    expect(Object.values(result.summary.patients).sort((a, b) => a - b)).toEqual(plannedCounts());
  });

  it('DICOM without PatientID falls back to the study, which is not counted as a patient id', async () => {
    const store = await freshStore();
    const files: ImportFile[] = hospitalA.slices.map((s) => {
      const bytes = sliceToDicom({ ...s, patient: { ...s.patient, patientId: '' } }, hospitalA.profile, renderPlannedSlice(s, hospitalA.profile, 16));
      return { name: `${s.baseName}.dcm`, relativePath: `picked/${s.label}/${s.baseName}.dcm`, bytes: async () => bytes };
    });
    const result = await importFiles(files, { store, targetSize: 16 });
    expect(result.patients).toEqual({ patientIds: 'none', withPatient: 0, byStudy: 20, withoutPatient: 20 });
    // One unit per study (each planned patient has one), so the grouping itself is the patients'.
    expect(result.summary).toMatchObject({ patientIds: 'none', slicesByStudy: 20, patientCount: hospitalA.patients.length });
  });

  it('batches stored before patient sources were recorded read as unchecked, never as "all"', async () => {
    const store = await freshStore();
    await store.claimSettings({ size: 4, task: 'classification' });
    const legacy = { importId: 'old', pixels: new Uint16Array(3 * 16), labels: ['a', 'a', 'b'], patientHashes: ['p1', 'p1', 'p2'], studyHashes: ['s', 's', 's'], instanceHashes: ['i1', 'i2', 'i3'], modalities: ['CT', 'CT', 'CT'] };
    await store.putBatch(legacy, 4);
    expect(await store.summary()).toMatchObject({ patientIds: 'none', slices: 3, slicesWithoutPatient: 3, slicesUnchecked: 3 });
    await store.putBatch({ ...legacy, importId: 'new', instanceHashes: ['i4', 'i5', 'i6'], patientSources: ['patient', 'patient', 'patient'] }, 4);
    expect(await store.summary()).toMatchObject({ patientIds: 'some', slices: 6, slicesWithoutPatient: 3, slicesUnchecked: 3 });
  });
});
