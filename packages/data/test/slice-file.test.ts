/**
 * A slice file read on its own (`readSliceFile`, then `modelInput`) must be exactly what training
 * reads for the same file after an import: same decoding, window, resize, quantisation and
 * normalisation. In Node with fake-indexeddb.
 */
import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { DataError, federationFiles, importFiles, modelInput, quantize, readSliceFile, type FederationFormat, type FederationFile } from '../src/index';
import { sliceStores } from './slice-store-fixture';

const { fresh } = sliceStores('slice-file');

/** The first slice image of a generated hospital folder, 32×32 on disk. */
function firstSlice(format: FederationFormat): FederationFile {
  for (const f of federationFiles({ hospitals: 1, task: 'classification', size: 32, slicesPerHospital: 4, seed: 3 }, format))
    if (/\.(dcm|png)$/.test(f.relativePath)) return f;
  throw new Error(`no ${format} slice generated`);
}

/** What training is given for `file` once imported at `size`: the one stored slice, read back. */
async function trainingInput(file: FederationFile, size: number): Promise<Float32Array> {
  const store = await fresh();
  const name = file.relativePath.split('/').pop()!;
  // A folder of one file has no class subfolder below it: a manifest gives the label.
  const manifest = new TextEncoder().encode(`file,label\n${name},lesion\n`);
  const files = [
    { name, relativePath: `pick/${name}`, bytes: async () => file.bytes },
    { name: 'manifest.csv', relativePath: 'pick/manifest.csv', bytes: async () => manifest },
  ];
  await importFiles(files, { store, targetSize: size, skipQuotaCheck: true });
  for await (const batch of store.readBatches({ batchSize: 1, normalization: 'zscore' })) return batch.x;
  throw new Error('nothing was stored');
}

describe('a slice file read on its own', () => {
  for (const format of ['dicom', 'png'] as const)
    it(`gives the model what training gives it for the same ${format} file (resized 32 → 16)`, async () => {
      const file = firstSlice(format);
      const own = modelInput(quantize(await readSliceFile(file.bytes, 'slice', 16)), 'zscore');
      expect(own).toHaveLength(16 * 16);
      expect(Array.from(own)).toEqual(Array.from(await trainingInput(file, 16)));
    });

  it('tells DICOM by its bytes, not its name; a file cut short is a DataError naming it', async () => {
    const { bytes } = firstSlice('dicom');
    expect(await readSliceFile(bytes, 'IM000123', 16)).toHaveLength(256);
    const cut = readSliceFile(bytes.subarray(0, bytes.length >> 1), 'IM000124', 16);
    await expect(cut).rejects.toBeInstanceOf(DataError);
    await expect(cut).rejects.toThrow(/^IM000124: pixel data is truncated.*copy it again/);
  });
});
