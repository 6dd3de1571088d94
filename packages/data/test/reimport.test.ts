/**
 * Importing again into a store that holds slices (replace or add, never a file twice), imports
 * that load nothing, and imports cut short by a reload: in Node with fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { importFiles, newImportId, type FederationSummary, type ImportFile, type SliceStore } from '../src/index';
import { sliceStores } from './slice-store-fixture';
import { folderImportFiles, generateFederation } from '../src/node/index';

let root: string;
let pngDir: string;
let expected: FederationSummary;

beforeAll(async () => {
  root = mkdtempSync(join(tmpdir(), 'fedward-reimport-'));
  pngDir = join(root, 'png');
  await generateFederation({ hospitals: 2, size: 32, slicesPerHospital: 20, seed: 5, outDir: pngDir, format: 'png', task: 'classification' });
  expected = JSON.parse(readFileSync(join(pngDir, 'federation.json'), 'utf8')) as FederationSummary;
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

const { fresh: freshStore, reopen } = sliceStores('reimport-store');

const hospitalA = () => folderImportFiles(join(pngDir, 'hospital-a'));
const countsA = () => expected.hospitals[0]!.counts;

function textFile(relativePath: string, text = 'not a slice'): ImportFile {
  const bytes = new TextEncoder().encode(text);
  return { name: relativePath.split('/').pop()!, relativePath, bytes: async () => bytes };
}

describe('importing into a store that already holds slices', () => {
  it('adding the right folder after its parent stores no file twice (same bytes, another path)', async () => {
    const store = await freshStore();
    // The tester's mistake: the folder above the hospital's, holding every hospital.
    const parent = await importFiles(await folderImportFiles(pngDir), { store, targetSize: 16 });
    expect(parent.imported).toBe(40);
    expect(parent.warnings.join(' ')).toMatch(/2 folders with their own manifest\.csv \(png\/hospital-a\/, png\/hospital-b\/\)/);
    expect(parent.skipped).toEqual([{ file: 'png/federation.json', kind: 'unsupported', error: expect.stringMatching(/not an image slice \(\.json file\)/) }]);

    const added = await importFiles(await hospitalA(), { store, targetSize: 16 });
    expect(added.imported).toBe(0);
    expect(added.replaced).toBe(false);
    expect(added.skipped.filter((s) => s.kind === 'duplicate' && s.error === 'already imported (same file contents)')).toHaveLength(20);
    expect(added.summary.slices).toBe(40);
  });

  it('replacing keeps only the new folder, and the same salt (same patients, same side of the split)', async () => {
    const store = await freshStore();
    await importFiles(await folderImportFiles(pngDir), { store, targetSize: 16 });
    const salt = await store.salt();
    const before = await store.summary();

    const replaced = await importFiles(await hospitalA(), { store, targetSize: 16, replace: true });
    expect(replaced.imported).toBe(20);
    expect(replaced.replaced).toBe(true);
    expect(replaced.summary.slices).toBe(20);
    expect(replaced.summary.labels).toEqual(countsA());
    expect(replaced.summary.unfinishedImport).toBeNull();
    expect(await store.salt()).toBe(salt);
    // Hospital A's patients kept their hashes: every one of them was already in the old summary.
    for (const hash of Object.keys(replaced.summary.patients)) expect(before.patients[hash]).toBeGreaterThan(0);

    // Replacing with the same folder again does not double it.
    expect((await importFiles(await hospitalA(), { store, targetSize: 16, replace: true })).summary.slices).toBe(20);
  });

  it('a replace may change the slice size (the old slices go with their settings)', async () => {
    const store = await freshStore();
    await importFiles(await hospitalA(), { store, targetSize: 16 });
    const result = await importFiles(await hospitalA(), { store, targetSize: 24, replace: true });
    expect(result.summary.settings).toEqual({ size: 24, task: 'classification' });
    expect(result.summary.slices).toBe(20);
  });

  it('a cancelled replace leaves the stored slices as they were', async () => {
    const store = await freshStore();
    await importFiles(await folderImportFiles(pngDir), { store, targetSize: 16 });
    const controller = new AbortController();
    const result = await importFiles(await hospitalA(), {
      store,
      targetSize: 16,
      batchSize: 4,
      replace: true,
      signal: controller.signal,
      onProgress: (p) => p.processed === 13 && controller.abort(),
    });
    expect(result.cancelled).toBe(true);
    expect(result.replaced).toBe(false);
    expect(result.summary.slices).toBe(40);
    expect(result.summary.unfinishedImport).toBeNull();
  });
});

describe('imports that load nothing say why, and change nothing', () => {
  it('a folder of JPEG photos and Markdown notes: every file is skipped with its reason; a replace keeps the stored slices', async () => {
    const store = await freshStore();
    await importFiles(await hospitalA(), { store, targetSize: 16 });
    const files = [textFile('scans/photo1.jpg'), textFile('scans/photo2.JPEG'), textFile('scans/README.md'), textFile('scans/.DS_Store')];
    const result = await importFiles(files, { store, targetSize: 16, replace: true });
    expect(result.imported).toBe(0);
    expect(result.replaced).toBe(false);
    expect(result.failed).toEqual([]);
    expect(result.skipped.map((s) => [s.file, s.kind, s.error])).toEqual([
      ['scans/photo1.jpg', 'unsupported', 'JPEG photos are not slices; export DICOM or PNG'],
      ['scans/photo2.JPEG', 'unsupported', 'JPEG photos are not slices; export DICOM or PNG'],
      ['scans/README.md', 'unsupported', 'not an image slice (.md file); DICOM or PNG expected'],
      ['scans/.DS_Store', 'unsupported', 'not an image slice (system file); DICOM or PNG expected'],
    ]);
    expect(result.summary.slices).toBe(20);
  });

  it('slices lying directly in the picked folder, without a manifest, are skipped as unlabelled without being read', async () => {
    const store = await freshStore();
    const files = (await hospitalA()).filter((f) => f.name.endsWith('.png')).map((f) => ({ ...f, relativePath: `flat/${f.name}`, bytes: () => Promise.reject(new Error('read')) }));
    const result = await importFiles(files, { store, targetSize: 16 });
    expect(result.imported).toBe(0);
    expect(result.skipped).toHaveLength(20);
    expect(new Set(result.skipped.map((s) => s.kind))).toEqual(new Set(['no-label']));
    expect(result.skipped[0]?.error).toMatch(/has no label: put slices in one subfolder per class/);
  });

  it('an empty folder loads nothing and leaves an empty store empty', async () => {
    const store = await freshStore();
    const result = await importFiles([], { store, targetSize: 16 });
    expect(result).toMatchObject({ imported: 0, failed: [], skipped: [], cancelled: false, replaced: false });
    expect(result.summary.slices).toBe(0);
    expect(result.summary.settings).toBeUndefined();
  });

  it('a corrupt DICOM is named as unreadable', async () => {
    const store = await freshStore();
    const files = [...(await hospitalA()), textFile('hospital-a/lesion/broken.dcm', 'DICM? no')];
    const result = await importFiles(files, { store, targetSize: 16 });
    expect(result.imported).toBe(20);
    expect(result.failed).toEqual([{ file: 'hospital-a/lesion/broken.dcm', kind: 'unreadable', error: expect.stringMatching(/not a DICOM file/) }]);
  });
});

describe('an import cut short (page reloaded, tab closed, crash)', () => {
  it('is marked unfinished until an import finishes; the next import first removes its partial slices', async () => {
    const store = await freshStore();
    await importFiles(await hospitalA(), { store, targetSize: 16 });
    // What a reload mid-import leaves: the marker and one batch of one label.
    const cut = newImportId();
    await store.beginImport(cut);
    const size = 16 * 16;
    await store.putBatch(
      { importId: cut, pixels: new Uint16Array(3 * size), labels: ['lesion', 'lesion', 'lesion'], patientHashes: ['p1', 'p1', 'p2'], studyHashes: ['s', 's', 's'], instanceHashes: ['i1', 'i2', 'i3'], modalities: ['PNG', 'PNG', 'PNG'] },
      16,
    );
    store.close();
    const reopened = await reopen(store.name);
    const summary = await reopened.summary();
    expect(summary.slices).toBe(23);
    expect(summary.unfinishedImport).toEqual({ startedAt: expect.any(Number), slices: 3 });

    // Adding the folder again: the partial batch goes, the marker with it, nothing is stored twice.
    const again = await importFiles(await hospitalA(), { store: reopened, targetSize: 16, batchSize: 8 });
    expect(again.imported).toBe(0);
    expect(again.summary.unfinishedImport).toBeNull();
    expect(again.summary.slices).toBe(20);
    expect(again.summary.labels).toEqual(countsA());
  });

  it('the files of a cut import load again when the folder is added again', async () => {
    const store = await freshStore();
    const files = await hospitalA();
    // A reload after the first batch: the import stops there, its marker and 8 slices stay.
    let writes = 0;
    await new Promise<void>((secondWrite) => {
      const stalled = new Proxy(store, {
        get(target, prop, receiver) {
          if (prop === 'putBatch')
            return (...args: Parameters<SliceStore['putBatch']>) => {
              if (writes++ === 0) return target.putBatch(...args);
              secondWrite();
              return new Promise<number>(() => undefined); // the page is gone: this write never returns
            };
          const value = Reflect.get(target, prop, receiver) as unknown;
          return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
        },
      });
      void importFiles(files, { store: stalled, targetSize: 16, batchSize: 8 });
    });
    expect((await store.summary()).unfinishedImport).toEqual({ startedAt: expect.any(Number), slices: 8 });
    const again = await importFiles(files, { store, targetSize: 16, batchSize: 8 });
    expect(again.imported).toBe(20);
    expect(again.summary.slices).toBe(20);
    expect(again.summary.unfinishedImport).toBeNull();
  });

  it('"Remove local data" removes the marker too', async () => {
    const store = await freshStore();
    await store.beginImport(newImportId());
    expect((await store.summary()).unfinishedImport).not.toBeNull();
    await store.clear();
    expect((await store.summary()).unfinishedImport).toBeNull();
  });

  it('a marker is written before the first slice and cleared after the last', async () => {
    const store = await freshStore();
    const seen: (number | null)[] = [];
    const watched = new Proxy(store, {
      get(target, prop, receiver) {
        if (prop === 'putBatch')
          return async (...args: Parameters<SliceStore['putBatch']>) => {
            seen.push((await target.summary()).unfinishedImport?.slices ?? null);
            return target.putBatch(...args);
          };
        const value = Reflect.get(target, prop, receiver) as unknown;
        return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
      },
    });
    const result = await importFiles(await hospitalA(), { store: watched, targetSize: 16, batchSize: 8 });
    expect(seen).toEqual([0, 8, 16]);
    expect(result.summary.unfinishedImport).toBeNull();
  });
});

describe('summary and previews', () => {
  it('counts labels per patient, so a split along patients can be counted per label', async () => {
    const store = await freshStore();
    const { summary } = await importFiles(await hospitalA(), { store, targetSize: 16 });
    const perLabel: Record<string, number> = {};
    for (const [hash, labels] of Object.entries(summary.labelsByPatient)) {
      expect(Object.values(labels).reduce((a, b) => a + b, 0)).toBe(summary.patients[hash]);
      for (const [label, n] of Object.entries(labels)) perLabel[label] = (perLabel[label] ?? 0) + n;
    }
    expect(perLabel).toEqual(countsA());
  });

  it('samples stored slices for thumbnails, from every label, the same ones each time', async () => {
    const store = await freshStore();
    await importFiles(await hospitalA(), { store, targetSize: 16, batchSize: 6 });
    const samples = await store.sampleSlices(8);
    expect(samples).toHaveLength(8);
    expect(samples.filter((s) => s.label === 'lesion')).toHaveLength(4);
    expect(samples.filter((s) => s.label === 'normal')).toHaveLength(4);
    for (const s of samples) {
      expect(s.size).toBe(16);
      expect(s.pixels).toHaveLength(256);
      expect(s.pixels.some((v) => v > 0)).toBe(true);
    }
    expect(await store.sampleSlices(8)).toEqual(samples);
    expect(await store.sampleSlices(100)).toHaveLength(20);
  });
});
