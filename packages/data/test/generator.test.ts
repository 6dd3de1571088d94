/** The federation generator: layout, determinism, non-IID profiles, real DICOM, learnable labels. */
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeDicom, decodePng, federationFiles, planFederation, renderPlannedSlice, type FederationDifficulty, type FederationSummary } from '../src/index';
import { generateFederation } from '../src/node/index';
import { referencePixels } from './corpus';

const dirs: string[] = [];
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'fedward-gen-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

describe('generateFederation', () => {
  it('writes class-per-subfolder DICOM with manifests and a summary that match', async () => {
    const out = tempDir();
    const result = await generateFederation({ outDir: out, format: 'dicom', task: 'classification', hospitals: 3, size: 32, slicesPerHospital: 24, seed: 5 });
    expect(result.hospitals.map((h) => h.id)).toEqual(['hospital-a', 'hospital-b', 'hospital-c']);
    const summary = JSON.parse(readFileSync(join(out, 'federation.json'), 'utf8')) as FederationSummary;
    for (const h of summary.hospitals) {
      const lesion = readdirSync(join(out, h.id, 'lesion'));
      const normal = readdirSync(join(out, h.id, 'normal'));
      expect(lesion.length).toBe(h.counts.lesion);
      expect(normal.length).toBe(h.counts.normal);
      expect(lesion.length + normal.length).toBe(24);
      const manifest = readFileSync(join(out, h.id, 'manifest.csv'), 'utf8').trim().split('\n');
      expect(manifest[0]).toBe('file,label');
      expect(manifest.slice(1).sort()).toEqual([...lesion.map((f) => `lesion/${f},lesion`), ...normal.map((f) => `normal/${f},normal`)].sort());
    }
    // Non-IID: label balance and patient counts differ between hospitals.
    const balance = summary.hospitals.map((h) => (h.counts.lesion ?? 0) / h.slices);
    expect(new Set(balance).size).toBe(3);
    expect(new Set(summary.hospitals.map((h) => h.patients)).size).toBe(3);
  });

  it('writes a patient column in the PNG manifest (PNG has no PatientID), several slices per patient', async () => {
    const out = tempDir();
    for (const task of ['classification', 'segmentation'] as const) {
      await generateFederation({ outDir: out, format: 'png', task, hospitals: 3, size: 16, slicesPerHospital: 12, seed: 5 });
      const plan = planFederation({ hospitals: 3, task, size: 16, slicesPerHospital: 12, seed: 5 });
      for (const h of plan.hospitals) {
        const [header, ...rows] = readFileSync(join(out, h.profile.id, 'manifest.csv'), 'utf8').trim().split('\n');
        expect(header).toBe(task === 'classification' ? 'file,label,patient' : 'file,mask,patient');
        const patientOf = new Map(rows.map((r) => [r.split(',')[0], r.split(',')[2]]));
        for (const s of h.slices) {
          const file = task === 'classification' ? `${s.label}/${s.baseName}.png` : `images/${s.baseName}.png`;
          expect(patientOf.get(file)).toBe(s.patient.patientId);
        }
        const perPatient = new Map<string, number>();
        for (const p of patientOf.values()) perPatient.set(p ?? '', (perPatient.get(p ?? '') ?? 0) + 1);
        expect(perPatient.size).toBe(h.patients.length);
        expect(Math.max(...perPatient.values())).toBe(h.profile.slicesPerPatient);
        expect(h.profile.slicesPerPatient).toBeGreaterThan(1);
        expect([...perPatient.keys()].every((p) => /^[A-C]-\d{4}$/.test(p))).toBe(true);
      }
    }
  });

  it('is deterministic for a seed and differs across seeds', () => {
    const files = (seed: number): Map<string, Uint8Array> =>
      new Map([...federationFiles({ hospitals: 2, task: 'classification', size: 16, slicesPerHospital: 6, seed }, 'dicom')].map((f) => [f.relativePath, f.bytes]));
    const a = files(1);
    const b = files(1);
    const c = files(2);
    expect([...a.keys()]).toEqual([...b.keys()]);
    for (const [k, v] of a) expect(Buffer.from(v).equals(Buffer.from(b.get(k) ?? new Uint8Array()))).toBe(true);
    const differing = [...a].filter(([k, v]) => !c.has(k) || !Buffer.from(v).equals(Buffer.from(c.get(k) ?? new Uint8Array())));
    expect(differing.length).toBeGreaterThan(0);
  });

  it('writes DICOM Part-10 that pydicom reads as the same HU values our decoder reads, with the required tags', async () => {
    const out = tempDir();
    const result = await generateFederation({ outDir: out, format: 'dicom', task: 'classification', hospitals: 3, size: 24, slicesPerHospital: 3, seed: 9 });
    // One file per hospital: they use different PixelRepresentation / BitsStored / slope.
    const files = result.hospitals.map((h) => h.files[0] ?? '');
    const refs = referencePixels(files);
    for (const file of files) {
      const ours = await decodeDicom(new Uint8Array(readFileSync(file)), file);
      const ref = refs.get(file);
      expect(ref?.ok, ref?.error).toBe(true);
      expect(Array.from(ours.values)).toEqual(ref?.values);
      expect(ours.modality).toBe('CT');
      expect(ours.bitsAllocated).toBe(16);
      expect(ours.window).toBeDefined();
      expect(ours.identifiers.patientId).toMatch(/^[A-C]-\d{4}$/);
      for (const uid of [ours.identifiers.studyInstanceUid, ours.identifiers.seriesInstanceUid, ours.identifiers.sopInstanceUid])
        expect(uid).toMatch(/^2\.25\.\d+$/);
    }
  });

  it('writes segmentation slices with mask PNGs and a file,mask manifest', async () => {
    const out = tempDir();
    await generateFederation({ outDir: out, format: 'png', task: 'segmentation', hospitals: 1, size: 32, slicesPerHospital: 8, seed: 3 });
    const manifest = readFileSync(join(out, 'hospital-a', 'manifest.csv'), 'utf8').trim().split('\n');
    expect(manifest[0]).toBe('file,mask,patient');
    expect(manifest).toHaveLength(9);
    let lesionPixels = 0;
    for (const row of manifest.slice(1)) {
      const [file, mask] = row.split(',') as [string, string];
      const image = decodePng(new Uint8Array(readFileSync(join(out, 'hospital-a', file))), file);
      const m = decodePng(new Uint8Array(readFileSync(join(out, 'hospital-a', mask))), mask);
      expect([image.width, m.width, m.bitDepth]).toEqual([32, 32, 8]);
      lesionPixels += m.values.filter((v) => v > 0).length;
    }
    expect(lesionPixels).toBeGreaterThan(0);
  });

  it('refuses to write into a non-empty folder that is not an earlier federation', async () => {
    const out = tempDir();
    await generateFederation({ outDir: out, format: 'png', task: 'classification', hospitals: 1, size: 16, slicesPerHospital: 2, seed: 1 });
    // Re-generating over our own output replaces it.
    await generateFederation({ outDir: out, format: 'png', task: 'classification', hospitals: 1, size: 16, slicesPerHospital: 1, seed: 1 });
    const images = readdirSync(join(out, 'hospital-a'), { recursive: true }).filter((f) => String(f).endsWith('.png'));
    expect(images).toHaveLength(1);
    await expect(generateFederation({ outDir: join(out, 'hospital-a'), format: 'png', task: 'classification', hospitals: 1, size: 16, slicesPerHospital: 1, seed: 1 })).rejects.toThrow(/not empty/);
  });
});

/** Each lesion slice's contrast-to-noise ratio against the body around it, per hospital. */
function lesionCnrs(difficulty: FederationDifficulty): number[][] {
  const plan = planFederation({ hospitals: 3, task: 'segmentation', size: 32, slicesPerHospital: 30, seed: 11, difficulty });
  return plan.hospitals.map((h) => {
    for (const s of h.slices.filter((x) => x.label === 'normal')) expect(renderPlannedSlice(s, h.profile, 32).mask.every((m) => m === 0)).toBe(true);
    return h.slices
      .filter((x) => x.label === 'lesion')
      .map((s) => {
        const r = renderPlannedSlice(s, h.profile, 32);
        expect(r.hasLesion).toBe(true);
        const inside: number[] = [];
        const around: number[] = [];
        r.mask.forEach((m, i) => (m ? inside : (r.hu[i] ?? -1000) > -300 ? around : []).push(r.hu[i] ?? 0));
        const mean = (a: number[]): number => a.reduce((x, y) => x + y, 0) / a.length;
        return (mean(inside) - mean(around)) / h.profile.scanner.noiseSigmaHu;
      });
  });
}

/** Accuracy of "lesion when ≥ 4 pixels are brighter than 150 HU" over three hospitals. */
function thresholdAccuracy(difficulty: FederationDifficulty): number {
  const plan = planFederation({ hospitals: 3, task: 'classification', size: 32, slicesPerHospital: 40, seed: 12, difficulty });
  let correct = 0;
  let total = 0;
  for (const h of plan.hospitals)
    for (const s of h.slices) {
      const bright = renderPlannedSlice(s, h.profile, 32).hu.filter((v) => v > 150).length;
      correct += (bright >= 4) === (s.label === 'lesion') ? 1 : 0;
      total++;
    }
  return correct / total;
}

const median = (a: number[]): number => [...a].sort((x, y) => x - y)[a.length >> 1] ?? NaN;

describe('the easy task: learnable at 32×32 in a round or two', () => {
  it('the lesion stands out from noise in every hospital (contrast-to-noise ≥ 4)', () => {
    for (const cnrs of lesionCnrs('easy')) for (const c of cnrs) expect(c).toBeGreaterThanOrEqual(4);
  });

  it('a fixed threshold detector separates the classes (a tiny CNN can learn at least this)', () => {
    expect(thresholdAccuracy('easy')).toBeGreaterThan(0.95);
  });
});

describe('the hard task (the default): visible lesions, but no shortcut', () => {
  it('every lesion is still visible (contrast-to-noise ≥ 2) yet subtler than in the easy task in every hospital', () => {
    const hard = lesionCnrs('hard');
    const easy = lesionCnrs('easy');
    hard.forEach((cnrs, h) => {
      for (const c of cnrs) expect(c).toBeGreaterThanOrEqual(2);
      expect(median(cnrs)).toBeLessThan(median(easy[h]!) * 0.75);
    });
  });

  it('the scanner shift defeats a fixed threshold: a model has to learn each scanner', () => {
    expect(thresholdAccuracy('hard')).toBeLessThan(0.8);
  });

  it('is the default of planFederation and is recorded in the plan', () => {
    const plan = planFederation({ hospitals: 1, task: 'classification', size: 16, slicesPerHospital: 4, seed: 1 });
    expect(plan.options.difficulty).toBe('hard');
    expect(() => planFederation({ hospitals: 1, task: 'classification', size: 16, slicesPerHospital: 4, seed: 1, difficulty: 'medium' as FederationDifficulty })).toThrow(
      /difficulty must be "hard" or "easy"/,
    );
  });
});

describe('syntheticFederationTensors', () => {
  it('gives the same slices as the files, as [0, 1] tensors with labels, masks and patients', async () => {
    const { syntheticFederationTensors } = await import('../src/index');
    const options = { hospitals: 2, task: 'classification', size: 16, slicesPerHospital: 10, seed: 4 } as const;
    const tensors = syntheticFederationTensors(options);
    const pngs = [...federationFiles(options, 'png')].filter((f) => f.relativePath.startsWith('hospital-a/') && f.relativePath.endsWith('.png'));
    const a = tensors[0];
    expect(a?.count).toBe(10);
    expect(a?.x.every((v) => v >= 0 && v <= 1)).toBe(true);
    const plan = planFederation(options);
    plan.hospitals[0]?.slices.forEach((s, k) => {
      expect(a?.y[k]).toBe(s.label === 'lesion' ? 1 : 0);
      expect(a?.patients[k]).toBe(s.patient.index);
      const file = pngs.find((f) => f.relativePath === `hospital-a/${s.label}/${s.baseName}.png`);
      const png = decodePng(file?.bytes ?? new Uint8Array(), 'x');
      // The PNG is the same tensor quantised to the hospital's bit depth.
      for (let i = 0; i < 256; i++) expect(Math.abs((png.values[i] ?? 0) - (a?.x[k * 256 + i] ?? 0))).toBeLessThan(1 / 255);
    });
  });
});
