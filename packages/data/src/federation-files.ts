/**
 * Turns a federation plan into files (relative path + bytes) without touching
 * any filesystem, so Node writes them to disk and a browser could build the
 * same federation in memory.
 */
import { encode as encodePngImage } from 'fast-png';
import { writeCtSlice } from './dicom-writer';
import {
  planFederation,
  renderPlannedSlice,
  type FederationOptions,
  type FederationPlan,
  type HospitalProfile,
  type PlannedSlice,
} from './federation';
import type { PhantomSlice } from './phantom';
import { windowToUnit } from './window';

export type FederationFormat = 'dicom' | 'png';

export interface FederationFile {
  /** Path relative to the federation root, '/'-separated. */
  relativePath: string;
  bytes: Uint8Array;
}

/** Physical field of view of the reference scanner, mm. */
const FIELD_OF_VIEW_MM = 350;
const STUDY_DATE = '20240115';

export function sliceToDicom(slice: PlannedSlice, profile: HospitalProfile, rendered: PhantomSlice): Uint8Array {
  const { storage } = profile;
  const stored = new Int32Array(rendered.hu.length);
  for (let i = 0; i < stored.length; i++)
    stored[i] = Math.round(((rendered.hu[i] ?? 0) - storage.rescaleIntercept) / storage.rescaleSlope);
  return writeCtSlice({
    rows: rendered.size,
    columns: rendered.size,
    stored,
    pixelRepresentation: storage.pixelRepresentation,
    bitsStored: storage.bitsStored,
    rescaleSlope: storage.rescaleSlope,
    rescaleIntercept: storage.rescaleIntercept,
    windowCenter: profile.window.center,
    windowWidth: profile.window.width,
    pixelSpacingMm: (FIELD_OF_VIEW_MM * profile.scanner.fieldOfViewScale) / rendered.size,
    sliceThicknessMm: slice.sliceThicknessMm,
    sliceLocationMm: slice.sliceIndex * slice.sliceThicknessMm,
    instanceNumber: slice.sliceIndex + 1,
    patientId: slice.patient.patientId,
    patientName: slice.patient.patientName,
    studyInstanceUid: slice.patient.studyInstanceUid,
    seriesInstanceUid: slice.patient.seriesInstanceUid,
    sopInstanceUid: slice.sopInstanceUid,
    manufacturer: profile.manufacturer,
    institutionName: profile.name,
    seriesDescription: 'Fedward phantom axial',
    imageComments: `synthetic phantom; label=${slice.label}`,
    studyDate: STUDY_DATE,
  });
}

/** A grayscale PNG with the hospital's window baked in, as a PACS "export as image" would. */
export function sliceToPng(profile: HospitalProfile, rendered: PhantomSlice): Uint8Array {
  const max = profile.pngBitDepth === 16 ? 65535 : 255;
  const data = profile.pngBitDepth === 16 ? new Uint16Array(rendered.hu.length) : new Uint8Array(rendered.hu.length);
  for (let i = 0; i < data.length; i++) data[i] = Math.round(windowToUnit(rendered.hu[i] ?? 0, profile.window) * max);
  return encodePngImage({ width: rendered.size, height: rendered.size, data, depth: profile.pngBitDepth, channels: 1 });
}

/** Binary mask PNG: 0 background, 255 lesion. */
export function maskToPng(rendered: PhantomSlice): Uint8Array {
  const data = new Uint8Array(rendered.mask.length);
  for (let i = 0; i < data.length; i++) data[i] = rendered.mask[i] ? 255 : 0;
  return encodePngImage({ width: rendered.size, height: rendered.size, data, depth: 8, channels: 1 });
}

const textEncoder = new TextEncoder();

export interface HospitalFileSummary {
  id: string;
  name: string;
  patients: number;
  slices: number;
  counts: Record<string, number>;
  /** Relative path of the manifest. */
  manifest: string;
}

export interface FederationSummary {
  generator: string;
  options: FederationOptions & { format: FederationFormat };
  hospitals: Array<HospitalFileSummary & { profile: HospitalProfile }>;
}

export function summarizePlan(plan: FederationPlan, format: FederationFormat): FederationSummary {
  return {
    generator: '@fedward/data generate-federation',
    options: { ...plan.options, format },
    hospitals: plan.hospitals.map((h) => {
      const counts: Record<string, number> = { lesion: 0, normal: 0 };
      for (const s of h.slices) counts[s.label] = (counts[s.label] ?? 0) + 1;
      return {
        id: h.profile.id,
        name: h.profile.name,
        patients: h.patients.length,
        slices: h.slices.length,
        counts,
        manifest: `${h.profile.id}/manifest.csv`,
        profile: h.profile,
      };
    }),
  };
}

/**
 * Lazily yields every file of a federation. Classification: `<hospital>/<label>/<name>.<ext>`
 * plus `<hospital>/manifest.csv` (`file,label`). Segmentation: `<hospital>/images/<name>.<ext>`,
 * `<hospital>/masks/<name>.png` and a `file,mask` manifest. Manifest paths are relative to
 * the hospital folder. PNG carries no identifiers, so for PNG the manifest also has a `patient`
 * column (the planned patient id, e.g. `A-0001`): without it the importer could only treat each
 * slice as its own patient. DICOM slices carry it as PatientID. Ends with `federation.json`
 * describing profiles and expected counts.
 */
export function* federationFiles(options: FederationOptions, format: FederationFormat): Generator<FederationFile> {
  const plan = planFederation(options);
  const ext = format === 'dicom' ? 'dcm' : 'png';
  for (const hospital of plan.hospitals) {
    const { profile } = hospital;
    const withPatient = format === 'png';
    const rows: string[] = [`${options.task === 'classification' ? 'file,label' : 'file,mask'}${withPatient ? ',patient' : ''}`];
    const patientCell = (slice: PlannedSlice): string => (withPatient ? `,${slice.patient.patientId}` : '');
    for (const slice of hospital.slices) {
      const rendered = renderPlannedSlice(slice, profile, options.size);
      const bytes = format === 'dicom' ? sliceToDicom(slice, profile, rendered) : sliceToPng(profile, rendered);
      if (options.task === 'classification') {
        const file = `${slice.label}/${slice.baseName}.${ext}`;
        rows.push(`${file},${slice.label}${patientCell(slice)}`);
        yield { relativePath: `${profile.id}/${file}`, bytes };
      } else {
        const file = `images/${slice.baseName}.${ext}`;
        const mask = `masks/${slice.baseName}.png`;
        rows.push(`${file},${mask}${patientCell(slice)}`);
        yield { relativePath: `${profile.id}/${file}`, bytes };
        yield { relativePath: `${profile.id}/${mask}`, bytes: maskToPng(rendered) };
      }
    }
    yield { relativePath: `${profile.id}/manifest.csv`, bytes: textEncoder.encode(`${rows.join('\n')}\n`) };
  }
  yield {
    relativePath: 'federation.json',
    bytes: textEncoder.encode(`${JSON.stringify(summarizePlan(plan, format), null, 2)}\n`),
  };
}
