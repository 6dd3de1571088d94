/**
 * What makes the browser import fast, checked for correctness: grouped and
 * read-ahead file reads (FileReads), one IndexedDB write in flight while the
 * next batch is prepared, and the inlined windowing / 2× resize loops.
 */
import 'fake-indexeddb/auto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileReads, type ReadableFile } from '../src/file-reads';
import { deleteSliceStore, dicomToUnit, importFiles, openSliceStore, resizeSquare, windowToUnit, type DecodedSlice, type SliceStore } from '../src/index';
import { folderImportFiles, generateFederation } from '../src/node/index';
import { createRng } from '../src/random';

let root: string;
beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'fedward-import-speed-'));
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** n files of varied sizes with recognisable bytes; `calls` counts bytes() calls per index. */
function memoryFiles(n: number, withBlob: (i: number) => boolean) {
  const calls = new Array<number>(n).fill(0);
  const contents = Array.from({ length: n }, (_, i) => Uint8Array.from({ length: 1 + ((i * 37) % 300) }, (_, k) => (i * 7 + k) % 251));
  const files: ReadableFile[] = contents.map((bytes, i) => ({
    ...(withBlob(i) ? { blob: new Blob([bytes]) } : {}),
    bytes: async () => {
      calls[i]!++;
      return bytes.slice();
    },
  }));
  return { files, contents, calls };
}

describe('FileReads', () => {
  it('returns every file’s own bytes, reading Blob-backed files in groups without calling bytes()', async () => {
    // Files 5 and 11 have no Blob: they are read on their own, between groups of 2 or more.
    const noBlob = (i: number) => i === 5 || i === 11;
    for (const options of [{}, { groupFiles: 3 }, { ahead: 0 }, { groupBytes: 500 }, { groupFiles: 1 }]) {
      const { files, contents, calls } = memoryFiles(20, (i) => !noBlob(i));
      const reads = new FileReads(files, options);
      for (let i = 0; i < files.length; i++) expect(await reads.read(i)).toEqual(contents[i]);
      expect(calls.every((c) => c <= 1)).toBe(true);
      expect([calls[5], calls[11]]).toEqual([1, 1]);
      // A Blob alone in its group (byte or count limit) is simply read with bytes().
      if (!('groupBytes' in options) && !('groupFiles' in options && options.groupFiles === 1))
        expect(calls.filter((c, i) => c > 0 && !noBlob(i))).toEqual([]);
    }
  });

  it('requests at most `ahead` files beyond the one being read', async () => {
    const { files, calls } = memoryFiles(30, () => false);
    const reads = new FileReads(files, { ahead: 4 });
    await reads.read(0);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(5);
    await reads.read(1);
    expect(calls.reduce((a, b) => a + b, 0)).toBe(6);
    expect(calls.every((c) => c <= 1)).toBe(true);
  });

  it('falls back to one read per file when a group cannot be read, so only the changed file fails', async () => {
    const dir = join(root, 'changed');
    const { mkdirSync } = await import('node:fs');
    mkdirSync(dir);
    for (let i = 0; i < 6; i++) writeFileSync(join(dir, `f${i}.bin`), `file ${i} `.repeat(10 + i));
    const files = (await folderImportFiles(dir, { blobs: true })).sort((a, b) => a.name.localeCompare(b.name));
    writeFileSync(join(dir, 'f2.bin'), 'changed after it was picked');
    const reads = new FileReads(files);
    for (let i = 0; i < 6; i++) {
      if (i === 2) await expect(reads.read(i)).rejects.toThrow(/could not be read/);
      else expect(new TextDecoder().decode(await reads.read(i))).toBe(`file ${i} `.repeat(10 + i));
    }
  });

  it('rejects bad options', () => {
    expect(() => new FileReads([], { ahead: -1 })).toThrow(RangeError);
    expect(() => new FileReads([], { groupFiles: 0 })).toThrow(RangeError);
  });
});

describe('importFiles with Blob-backed files', () => {
  let dicomDir: string;
  let pngDir: string;
  beforeAll(async () => {
    dicomDir = join(root, 'dicom');
    pngDir = join(root, 'png');
    await generateFederation({ outDir: dicomDir, format: 'dicom', task: 'classification', hospitals: 1, size: 32, slicesPerHospital: 150, seed: 5 });
    await generateFederation({ outDir: pngDir, format: 'png', task: 'classification', hospitals: 2, size: 24, slicesPerHospital: 40, seed: 5 });
  });
  const stores: SliceStore[] = [];
  afterAll(async () => {
    for (const s of stores) {
      s.close();
      await deleteSliceStore(s.name);
    }
  });
  const store = async (name: string): Promise<SliceStore> => {
    const s = await openSliceStore(`speed-${name}`);
    stores.push(s);
    return s;
  };

  it('stores the same slices as reading file by file (DICOM, 8- and 16-bit PNG), and reports how long it waited', async () => {
    const pixels = async (s: SliceStore) => {
      const out: number[] = [];
      for await (const b of s.readBatches({ batchSize: 64 })) out.push(...b.x);
      return out;
    };
    const folders = [join(dicomDir, 'hospital-a'), join(pngDir, 'hospital-a'), join(pngDir, 'hospital-b')];
    for (const [i, folder] of folders.entries()) {
      const plainStore = await store(`plain-${i}`);
      const groupedStore = await store(`grouped-${i}`);
      const plain = await importFiles(await folderImportFiles(folder), { store: plainStore, targetSize: 16, batchSize: 16 });
      const grouped = await importFiles(await folderImportFiles(folder, { blobs: true }), { store: groupedStore, targetSize: 16, batchSize: 16 });
      expect(grouped.failed).toEqual([]);
      expect(grouped.imported).toBe(plain.imported);
      expect(grouped.imported).toBeGreaterThanOrEqual(40);
      expect(grouped.summary.labels).toEqual(plain.summary.labels);
      expect(grouped.summary.patientCount).toBe(plain.summary.patientCount);
      expect(grouped.summary.batches).toBe(Math.ceil(grouped.imported / 16));
      expect(await pixels(groupedStore)).toEqual(await pixels(plainStore));
      for (const r of [plain, grouped]) {
        expect(r.waits.readSeconds).toBeGreaterThanOrEqual(0);
        expect(r.waits.readSeconds + r.waits.storeSeconds).toBeLessThanOrEqual(r.seconds);
      }
    }
  });

  it('keeps one write in flight while the next batch is prepared, and a failed write leaves nothing behind', async () => {
    const s = await store('failing');
    const putBatch = s.putBatch.bind(s);
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    s.putBatch = async (...args) => {
      calls++;
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      try {
        await new Promise((ok) => setTimeout(ok, 5));
        if (calls === 4) throw new Error('disk full (simulated)');
        return await putBatch(...args);
      } finally {
        inFlight--;
      }
    };
    const files = await folderImportFiles(join(dicomDir, 'hospital-a'), { blobs: true });
    let preparedDuringWrites = 0;
    const onProgress = () => void (preparedDuringWrites += inFlight);
    await expect(importFiles(files, { store: s, targetSize: 16, batchSize: 10, onProgress })).rejects.toThrow('disk full (simulated)');
    expect(maxInFlight).toBe(1);
    // Slices were decoded while a write was under way (the overlap that the browser benefits from).
    expect(preparedDuringWrites).toBeGreaterThan(0);
    // The batches written before the failure (and the one in flight) were removed again.
    expect((await s.summary()).slices).toBe(0);
    s.putBatch = putBatch;
    const ok = await importFiles(files, { store: s, targetSize: 16, batchSize: 10 });
    expect(ok.imported).toBe(150);
    expect(ok.summary.slices).toBe(150);
  });

  it('names a file changed after it was picked and loads the rest', async () => {
    const files = await folderImportFiles(join(dicomDir, 'hospital-a'), { blobs: true });
    const victim = files.find((f) => f.name.endsWith('.dcm'))!;
    writeFileSync(join(dicomDir, victim.relativePath), 'overwritten');
    const result = await importFiles(files, { store: await store('changed'), targetSize: 16 });
    expect(result.imported).toBe(149);
    expect(result.failed.map((f) => f.file)).toEqual([victim.relativePath]);
    expect(result.failed[0]?.error).toMatch(/could not be read/);
  });
});

describe('inlined preprocessing loops', () => {
  const rng = createRng('loops');
  const slice = (rows: number, columns: number, invert: boolean): DecodedSlice => ({
    fileName: 't.dcm', rows, columns, samplesPerPixel: 1, photometric: invert ? 'MONOCHROME1' : 'MONOCHROME2',
    transferSyntaxUid: '1.2.840.10008.1.2.1', transferSyntaxName: 'Explicit VR Little Endian',
    values: Float64Array.from({ length: rows * columns }, () => Math.round(rng.uniform(-1200, 1500))), numberOfFrames: 1,
    bitsAllocated: 16, bitsStored: 12, pixelRepresentation: 0, rescaleSlope: 1, rescaleIntercept: -1024, window: { center: 40, width: 400 },
    invert, identifiers: {},
  });

  it('windows exactly as windowToUnit does, for MONOCHROME1 and 2', () => {
    for (const invert of [false, true]) {
      const s = slice(13, 17, invert);
      const expected = Float32Array.from(s.values, (v) => (invert ? 1 - windowToUnit(v, s.window!) : windowToUnit(v, s.window!)));
      expect(dicomToUnit(s, 'file').values).toEqual(expected);
    }
  });

  it('halves a square image with the same sums as the general block average', () => {
    const size = 24;
    const values = Float32Array.from({ length: 4 * size * size }, () => rng.uniform(0, 1));
    const expected = new Float32Array(size * size);
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let dy = 0; dy < 2; dy++) for (let dx = 0; dx < 2; dx++) acc += values[(2 * y + dy) * 2 * size + 2 * x + dx]!;
        expected[y * size + x] = acc * 0.25;
      }
    expect(resizeSquare({ rows: 2 * size, columns: 2 * size, values }, size)).toEqual(expected);
  });
});
