/**
 * Import pipeline + IndexedDB store, in Node with fake-indexeddb (the real
 * browser IndexedDB is exercised by the hospital app's e2e).
 */
import 'fake-indexeddb/auto';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDB } from 'idb';
import { importFiles, patientFraction, planFederation, type FederationSummary, type ImportFile } from '../src/index';
import { sliceStores } from './slice-store-fixture';
import { folderImportFiles, generateFederation } from '../src/node/index';
import { corpusFile } from './corpus';

let root: string;
let dicomDir: string;
let pngDir: string;
let segDir: string;
let dicomSummary: FederationSummary;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fedward-import-'));
  dicomDir = join(root, 'dicom');
  pngDir = join(root, 'png');
  segDir = join(root, 'seg');
  const opts = { hospitals: 2, size: 48, slicesPerHospital: 20, seed: 21 } as const;
  await generateFederation({ ...opts, outDir: dicomDir, format: 'dicom', task: 'classification' });
  await generateFederation({ ...opts, outDir: pngDir, format: 'png', task: 'classification' });
  await generateFederation({ ...opts, outDir: segDir, format: 'dicom', task: 'segmentation' });
  const { readFileSync } = await import('node:fs');
  dicomSummary = JSON.parse(readFileSync(join(dicomDir, 'federation.json'), 'utf8')) as FederationSummary;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { fresh: freshStore, reopen } = sliceStores('test-store');

describe('importFiles', () => {
  it('imports a generated DICOM hospital folder; the summary matches what was generated', async () => {
    const store = await freshStore();
    const files = await folderImportFiles(join(dicomDir, 'hospital-a'));
    const progress: number[] = [];
    const result = await importFiles(files, { store, targetSize: 32, batchSize: 7, onProgress: (p) => progress.push(p.processed) });
    const expected = dicomSummary.hospitals[0];
    expect(result.failed).toEqual([]);
    expect(result.imported).toBe(20);
    expect(result.summary.labels).toEqual(expected?.counts);
    expect(result.summary.patientCount).toBe(expected?.patients);
    expect(result.summary.modalities).toEqual({ CT: 20 });
    expect(result.summary.batches).toBe(3); // 7 + 7 + 6
    expect(result.summary.settings).toEqual({ size: 32, task: 'classification' });
    expect(progress.at(-1)).toBe(20);
  });

  it('survives a reload (reopening the database) and skips duplicates on re-import', async () => {
    const store = await freshStore();
    const files = await folderImportFiles(join(dicomDir, 'hospital-b'));
    await importFiles(files, { store, targetSize: 32 });
    store.close();
    const reopened = await reopen(store.name);
    const summary = await reopened.summary();
    expect(summary.slices).toBe(20);
    const again = await importFiles(files, { store: reopened, targetSize: 32 });
    expect(again.imported).toBe(0);
    expect(again.skipped.filter((s) => /already imported/.test(s.error))).toHaveLength(20);
    expect(again.summary.slices).toBe(20);
  });

  it('keeps loading the folder when some files are bad, reporting each one', async () => {
    const store = await freshStore();
    const dir = join(root, 'mixed');
    cpSync(join(dicomDir, 'hospital-a'), dir, { recursive: true });
    cpSync(corpusFile('pydicom/rtplan.dcm'), join(dir, 'lesion', 'plan.dcm'));
    cpSync(corpusFile('pydicom/MR_truncated.dcm'), join(dir, 'normal', 'broken.dcm'));
    cpSync(corpusFile('pydicom/JPGExtended.dcm'), join(dir, 'normal', 'nm12.dcm'));
    const result = await importFiles(await folderImportFiles(dir), { store, targetSize: 32 });
    expect(result.imported).toBe(20);
    const errors = Object.fromEntries(result.failed.map((f) => [f.file.split('/').pop(), f.error]));
    expect(Object.keys(errors).sort()).toEqual(['broken.dcm', 'nm12.dcm', 'plan.dcm']);
    expect(errors['plan.dcm']).toMatch(/no pixel data/);
    expect(errors['broken.dcm']).toMatch(/truncated/);
    expect(errors['nm12.dcm']).toMatch(/1\.2\.840\.10008\.1\.2\.4\.51/);
    // Manifest rows for files of the folder still label them (file,label).
    expect(result.summary.labels).toEqual(dicomSummary.hospitals[0]?.counts);
  });

  it('imports PNG slices (8- and 16-bit hospitals) with labels from subfolders', async () => {
    for (const [i, id] of ['hospital-a', 'hospital-b'].entries()) {
      const store = await freshStore();
      const files = (await folderImportFiles(join(pngDir, id))).filter((f) => !f.name.endsWith('.csv'));
      const result = await importFiles(files, { store, targetSize: 32 });
      expect(result.failed).toEqual([]);
      expect(result.summary.labels).toEqual(dicomSummary.hospitals[i]?.counts);
      expect(result.summary.modalities).toEqual({ PNG: 20 });
    }
  });

  it('pairs segmentation slices with their masks from the file,mask manifest', async () => {
    const store = await freshStore();
    const result = await importFiles(await folderImportFiles(join(segDir, 'hospital-a')), { store, targetSize: 32, task: 'segmentation' });
    expect(result.failed).toEqual([]);
    expect(result.imported).toBe(20);
    const plan = planFederation({ hospitals: 2, task: 'segmentation', size: 48, slicesPerHospital: 20, seed: 21 });
    const lesions = plan.hospitals[0]?.slices.filter((s) => s.label === 'lesion').length;
    expect(result.summary.labels.lesion).toBe(lesions);
    let maskPixels = 0;
    for await (const batch of store.readBatches({ batchSize: 8 })) {
      expect(batch.masks).toBeDefined();
      batch.labels.forEach((label, k) => {
        const m = batch.masks?.subarray(k * 1024, (k + 1) * 1024) ?? new Uint8Array();
        const n = m.reduce((a, b) => a + b, 0);
        expect(n > 0).toBe(label === 'lesion');
        maskPixels += n;
      });
    }
    expect(maskPixels).toBeGreaterThan(0);
  });

  it('cancelling removes everything this import stored', async () => {
    const store = await freshStore();
    const controller = new AbortController();
    const result = await importFiles(await folderImportFiles(join(dicomDir, 'hospital-a')), {
      store,
      targetSize: 32,
      batchSize: 4,
      signal: controller.signal,
      onProgress: (p) => {
        if (p.processed === 13) controller.abort();
      },
    });
    expect(result.cancelled).toBe(true);
    expect(result.summary.slices).toBe(0);
  });

  it('refuses to mix slice sizes in one store, with the fix in the message', async () => {
    const store = await freshStore();
    const files = await folderImportFiles(join(dicomDir, 'hospital-a'));
    expect((await importFiles(files, { store, targetSize: 32 })).imported).toBe(20);
    await expect(importFiles(files, { store, targetSize: 64 })).rejects.toThrow(/Remove local data first/);
  });

  it('never stores patient identifiers, UIDs or file names', async () => {
    const store = await freshStore();
    const files = await folderImportFiles(join(dicomDir, 'hospital-a'));
    await importFiles(files, { store, targetSize: 16 });
    store.close();
    const db = await openDB(store.name);
    const dump: string[] = [];
    for (const name of db.objectStoreNames) {
      for (const value of await db.getAll(name)) dump.push(JSON.stringify(value, (_k, v: unknown) => (ArrayBuffer.isView(v) ? '<pixels>' : v)));
    }
    db.close();
    const text = dump.join('\n');
    expect(text).not.toMatch(/A-\d{4}/); // PatientID
    expect(text).not.toMatch(/PHANTOM/); // PatientName
    expect(text).not.toMatch(/2\.25\.\d{10,}/); // Study/Series/SOP Instance UIDs
    expect(text).not.toMatch(/p\d{4}-s\d{2}/); // file names
    expect(text).toMatch(/[0-9a-f]{32}/); // salted hashes are there
    await reopen(store.name);
  });

  it('"remove local data" empties the store', async () => {
    const store = await freshStore();
    await importFiles(await folderImportFiles(join(dicomDir, 'hospital-a')), { store, targetSize: 16 });
    const saltBefore = await store.salt();
    await store.clear();
    const summary = await store.summary();
    expect(summary.slices).toBe(0);
    expect(summary.settings).toBeUndefined();
    expect(await store.salt()).not.toBe(saltBefore);
  });
});

describe('readBatches streams training data', () => {
  it('re-cuts stored batches, normalises, and splits patient-disjointly', async () => {
    const store = await freshStore();
    await importFiles(await folderImportFiles(join(dicomDir, 'hospital-a')), { store, targetSize: 16, batchSize: 6 });
    const sizes: number[] = [];
    const seen: string[] = [];
    for await (const b of store.readBatches({ batchSize: 8, shuffleSeed: 1 })) {
      sizes.push(b.count);
      expect(b.x.length).toBe(b.count * 256);
      expect(b.classes).toEqual(['lesion', 'normal']);
      b.labels.forEach((l, k) => expect(b.classes[b.labelIndices[k] ?? -1]).toBe(l));
      expect(Math.min(...b.x)).toBeGreaterThanOrEqual(0);
      expect(Math.max(...b.x)).toBeLessThanOrEqual(1);
      seen.push(...b.patientHashes);
    }
    expect(sizes).toEqual([8, 8, 4]);
    const isValidation = (p: string): boolean => patientFraction(p) < 0.3;
    const train = new Set<string>();
    const validation = new Set<string>();
    for await (const b of store.readBatches({ batchSize: 5, patientFilter: (p) => !isValidation(p) })) b.patientHashes.forEach((p) => train.add(p));
    for await (const b of store.readBatches({ batchSize: 5, patientFilter: isValidation, normalization: 'zscore' })) b.patientHashes.forEach((p) => validation.add(p));
    expect([...train].filter((p) => validation.has(p))).toEqual([]);
    expect(train.size + validation.size).toBe(new Set(seen).size);
  });

  it('mixes labels across stored batches when shuffling, so no training batch is single-class by construction', async () => {
    const store = await freshStore();
    // Stored batches of 4 follow the folder order: all "lesion" batches, then all "normal" ones.
    await importFiles(await folderImportFiles(join(pngDir, 'hospital-a')), { store, targetSize: 16, batchSize: 4 });
    const stored: string[][] = [];
    for await (const b of store.readBatches({ batchSize: 4 })) stored.push(b.labels);
    expect(stored.filter((labels) => new Set(labels).size > 1).length).toBeLessThanOrEqual(1);
    const mixed: string[][] = [];
    const everySlice: string[] = [];
    for await (const b of store.readBatches({ batchSize: 4, shuffleSeed: 3 })) {
      mixed.push(b.labels);
      everySlice.push(...b.patientHashes);
    }
    expect(mixed.filter((labels) => new Set(labels).size > 1).length).toBeGreaterThan(mixed.length / 3);
    expect(everySlice.length).toBe(20);
  });

  it('reads in-memory ImportFile objects (what a Web Worker gets from File handles)', async () => {
    const store = await freshStore();
    const onDisk = await folderImportFiles(join(pngDir, 'hospital-a'));
    const inMemory: ImportFile[] = await Promise.all(
      onDisk.map(async (f) => {
        const bytes = await f.bytes();
        return { name: f.name, relativePath: f.relativePath, bytes: async () => bytes };
      }),
    );
    const result = await importFiles(inMemory, { store, targetSize: 24 });
    expect(result.imported).toBe(20);
  });
});
