/** Windowing, resizing, normalisation, manifests and folder labels, storage checks, hashing. */
import { describe, expect, it } from 'vitest';
import {
  checkStorageSpace,
  dicomToUnit,
  labelFromFolder,
  ManifestError,
  normalizeSlice,
  parseManifest,
  patientFromPath,
  patientIdStatus,
  resizeSquare,
  resolveWindow,
  saltedHash,
  type DecodedSlice,
} from '../src/index';

function slice(values: number[], rows: number, columns: number, extra: Partial<DecodedSlice> = {}): DecodedSlice {
  return {
    fileName: 't.dcm', rows, columns, samplesPerPixel: 1, photometric: 'MONOCHROME2', transferSyntaxUid: '1.2.840.10008.1.2.1',
    transferSyntaxName: 'Explicit VR Little Endian', values: Float64Array.from(values), numberOfFrames: 1, bitsAllocated: 16,
    bitsStored: 16, pixelRepresentation: 1, rescaleSlope: 1, rescaleIntercept: 0, invert: false, identifiers: {}, ...extra,
  };
}

describe('windowing', () => {
  it('uses the file window, a preset (CT brain L40/W80), or min-max', () => {
    const s = slice([0, 40, 80, 1000], 2, 2, { window: { center: 500, width: 1000 } });
    Array.from(dicomToUnit(s, 'file').values).forEach((v, i) => expect(v).toBeCloseTo([0, 0.04, 0.08, 1][i] ?? NaN, 6));
    expect(Array.from(dicomToUnit(s, 'ct-brain').values)).toEqual([0, 0.5, 1, 1]);
    expect(resolveWindow('auto', s)).toEqual({ center: 500, width: 1000 });
    expect(resolveWindow('file', slice([3, 3], 1, 2))).toEqual({ center: 3, width: 1 });
  });
  it('inverts MONOCHROME1 after windowing', () => {
    const s = slice([0, 40, 80], 1, 3, { invert: true });
    expect(Array.from(dicomToUnit(s, 'ct-brain').values)).toEqual([1, 0.5, 0]);
  });
});

describe('resizeSquare', () => {
  it('averages blocks when shrinking and letterboxes non-square images', () => {
    const img = { rows: 2, columns: 4, values: Float32Array.from([1, 1, 0, 0, 1, 1, 0, 0]) };
    // 4×4 canvas with the 2×4 image centred (rows 1–2), shrunk to 2×2.
    expect(Array.from(resizeSquare(img, 2))).toEqual([0.5, 0, 0.5, 0]);
    expect(Array.from(resizeSquare({ rows: 1, columns: 1, values: Float32Array.from([0.25]) }, 3))).toEqual(Array(9).fill(0.25));
    const odd = resizeSquare({ rows: 3, columns: 3, values: Float32Array.from([1, 1, 1, 1, 1, 1, 1, 1, 1]) }, 2);
    expect(Array.from(odd)).toEqual([1, 1, 1, 1]);
  });
  it('z-score normalisation gives mean 0 and sd 1', () => {
    const v = normalizeSlice(Float32Array.from([1, 2, 3, 4]), 'zscore');
    expect(v.reduce((a, b) => a + b, 0)).toBeCloseTo(0, 6);
    expect(Math.sqrt(v.reduce((a, b) => a + b * b, 0) / 4)).toBeCloseTo(1, 6);
  });
});

describe('labels', () => {
  it('parses file,label and file,mask manifests relative to their folder', () => {
    const m = parseManifest('\uFEFFfile,label\r\nlesion/a.dcm,lesion\n"normal/b, c.dcm",normal\n\n', 'hospital-a/manifest.csv');
    expect(m.kind).toBe('label');
    expect(m.entries).toEqual([
      { file: 'hospital-a/lesion/a.dcm', label: 'lesion' },
      { file: 'hospital-a/normal/b, c.dcm', label: 'normal' },
    ]);
    const s = parseManifest('file,mask,patient\nimages/x.dcm,../masks/x.png,P1\n', 'h/set/manifest.csv');
    expect(s.entries).toEqual([{ file: 'h/set/images/x.dcm', mask: 'h/masks/x.png', patient: 'P1' }]);
  });
  it('rejects malformed manifests with the line and the fix', () => {
    expect(() => parseManifest('name,class\na,b\n', 'm.csv')).toThrow(ManifestError);
    expect(() => parseManifest('file,label\na.dcm\n', 'm.csv')).toThrow(/line 2/);
  });
  it('takes the class from the enclosing folder', () => {
    expect(labelFromFolder('lesion/a.dcm')).toBe('lesion');
    expect(labelFromFolder('a.dcm')).toBeUndefined();
  });
  it('skips patient-<id> folders when taking the class from the folder', () => {
    expect(labelFromFolder('lesion/patient-7/a.png')).toBe('lesion');
    expect(labelFromFolder('patient-7/lesion/a.png')).toBe('lesion');
    expect(labelFromFolder('Patient-7/a.png')).toBeUndefined();
  });
  it('reads the patient column as patient, patient_id or PatientID, in any case', () => {
    for (const column of ['patient', 'Patient', 'patient_id', 'PATIENT_ID', 'PatientID', 'patientid']) {
      const m = parseManifest(`file,label,${column}\na.png,lesion,A-0001\nb.png,normal,\n`, 'h/manifest.csv');
      expect(m.entries).toEqual([
        { file: 'h/a.png', label: 'lesion', patient: 'A-0001' },
        // An empty cell gives no id: the importer falls back to the file's other sources.
        { file: 'h/b.png', label: 'normal' },
      ]);
    }
    const before = parseManifest('PatientID,file,label\nP9,x.png,lesion\n', 'manifest.csv');
    expect(before.entries).toEqual([{ file: 'x.png', label: 'lesion', patient: 'P9' }]);
    expect(parseManifest('file,label,patients\nx.png,lesion,P9\n', 'm.csv').entries).toEqual([{ file: 'x.png', label: 'lesion' }]);
  });
  it('takes a patient id from <id>__<anything> file names or patient-<id> folders', () => {
    expect(patientFromPath('lesion/A-0001__s01.png')).toBe('A-0001');
    expect(patientFromPath('lesion/A-0001__s01__x.png')).toBe('A-0001');
    expect(patientFromPath('lesion/patient-A-0001/s01.png')).toBe('A-0001');
    expect(patientFromPath('PATIENT-42/lesion/s01.png')).toBe('42');
    // The file name wins over the folder.
    expect(patientFromPath('patient-1/B__s.png')).toBe('B');
    // No pattern: no id (a single underscore, a leading double underscore, "patient-" alone).
    expect(patientFromPath('lesion/A-0001_s01.png')).toBeUndefined();
    expect(patientFromPath('lesion/__s01.png')).toBeUndefined();
    expect(patientFromPath('patient-/s01.png')).toBeUndefined();
    expect(patientFromPath('patients/s01.png')).toBeUndefined();
  });
  it('reads the patient-id fields of a summary made before they existed as "none", not "all"', () => {
    expect(patientIdStatus({ slices: 12 })).toEqual({ patientIds: 'none', slices: 12, slicesWithoutPatient: 12, slicesByStudy: 0, slicesUnchecked: 12 });
    expect(patientIdStatus({ slices: 4, patientIds: 'all', slicesWithoutPatient: 0, slicesByStudy: 0, slicesUnchecked: 0 }).patientIds).toBe('all');
  });
});

describe('storage and privacy', () => {
  it('reports a short quota with a clear message', async () => {
    const storage = { estimate: async () => ({ usage: 900e6, quota: 1000e6 }) } as unknown as StorageManager;
    const short = await checkStorageSpace(200e6, storage);
    expect(short.status).toBe('short');
    expect(short.message).toMatch(/Not enough browser storage.*200 MB needed.*100 MB free.*remove local data/);
    expect((await checkStorageSpace(10e6, storage)).status).toBe('ok');
    expect((await checkStorageSpace(10e6, undefined)).status).toBe('unavailable');
  });
  it('salted hashes are stable per salt and differ across salts and kinds', async () => {
    const a = await saltedHash('s1', 'patient', 'PAT-1');
    expect(a).toMatch(/^[0-9a-f]{32}$/);
    expect(await saltedHash('s1', 'patient', 'PAT-1')).toBe(a);
    expect(await saltedHash('s2', 'patient', 'PAT-1')).not.toBe(a);
    expect(await saltedHash('s1', 'study', 'PAT-1')).not.toBe(a);
  });
});
