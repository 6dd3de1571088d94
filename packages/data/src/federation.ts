/**
 * Plans a synthetic multi-hospital federation: which patients each hospital
 * has, which slices, which labels, and how each hospital's scanner and PACS
 * export differ (non-IID). Planning is pure and deterministic for a seed, so
 * the same plan can be rendered to files (Node generator) or to tensors in
 * memory (tests, simulators).
 */
import { createRng, deterministicUid } from './random';
import {
  OBVIOUS_LESIONS,
  renderPhantomSlice,
  samplePhantomVolume,
  SUBTLE_LESIONS,
  type LesionLook,
  type PhantomSlice,
  type PhantomVolume,
  type ScannerSettings,
} from './phantom';

export type FederationTask = 'classification' | 'segmentation';
/**
 * 'hard' (the default): subtle lesions and strongly shifted scanners, so rounds, DP, personalization and
 * the number of hospitals show in the accuracy. 'easy': large bright lesions and mild shifts, solved in a
 * round or two (for tests that need a model that learns fast).
 */
export type FederationDifficulty = 'hard' | 'easy';
export const FEDERATION_DIFFICULTIES: readonly FederationDifficulty[] = ['hard', 'easy'];
export type SliceLabel = 'lesion' | 'normal';
export const SLICE_LABELS: readonly SliceLabel[] = ['lesion', 'normal'];

/** How a hospital stores CT values in its DICOM export. */
export interface DicomStorage {
  pixelRepresentation: 0 | 1;
  bitsStored: number;
  rescaleSlope: number;
  rescaleIntercept: number;
}

export interface HospitalProfile {
  id: string;
  name: string;
  manufacturer: string;
  scanner: ScannerSettings;
  /** Fraction of patients that have a lesion. */
  lesionPrevalence: number;
  /** Consecutive slices exported per patient (sets the patient count). */
  slicesPerPatient: number;
  storage: DicomStorage;
  /** Display window the hospital ships in its files (and bakes into its PNGs). */
  window: { center: number; width: number };
  pngBitDepth: 8 | 16;
}

/** The three hand-tuned hospitals of the easy task: different enough to be non-IID, all learnable. */
const EASY_PROFILES: readonly Omit<HospitalProfile, 'id' | 'name'>[] = [
  {
    manufacturer: 'Fedward Phantom Systems CT-A',
    scanner: { intensityScale: 1, intensityOffsetHu: 0, noiseSigmaHu: 12, blurSigmaFraction: 0, fieldOfViewScale: 1 },
    lesionPrevalence: 0.5,
    slicesPerPatient: 4,
    storage: { pixelRepresentation: 0, bitsStored: 12, rescaleSlope: 1, rescaleIntercept: -1024 },
    window: { center: 40, width: 400 },
    pngBitDepth: 8,
  },
  {
    manufacturer: 'Fedward Phantom Systems CT-B',
    scanner: { intensityScale: 1.08, intensityOffsetHu: 25, noiseSigmaHu: 22, blurSigmaFraction: 0.012, fieldOfViewScale: 1.12 },
    lesionPrevalence: 0.3,
    slicesPerPatient: 6,
    storage: { pixelRepresentation: 1, bitsStored: 16, rescaleSlope: 1, rescaleIntercept: 0 },
    window: { center: 50, width: 350 },
    pngBitDepth: 16,
  },
  {
    manufacturer: 'Fedward Phantom Systems CT-C',
    scanner: { intensityScale: 0.93, intensityOffsetHu: -20, noiseSigmaHu: 16, blurSigmaFraction: 0.02, fieldOfViewScale: 0.9 },
    lesionPrevalence: 0.65,
    slicesPerPatient: 3,
    storage: { pixelRepresentation: 0, bitsStored: 16, rescaleSlope: 0.5, rescaleIntercept: -1024 },
    window: { center: 40, width: 450 },
    pngBitDepth: 8,
  },
];

/**
 * The hard task's first three hospitals: a clean scanner, a noisy miscalibrated one with a wide field of
 * view (small anatomy), and a blurred one with a narrow field of view; prevalence differs too.
 */
const HARD_PROFILES: readonly Omit<HospitalProfile, 'id' | 'name'>[] = [
  {
    ...(EASY_PROFILES[0] as Omit<HospitalProfile, 'id' | 'name'>),
    scanner: { intensityScale: 1, intensityOffsetHu: 0, noiseSigmaHu: 18, blurSigmaFraction: 0, fieldOfViewScale: 1 },
    lesionPrevalence: 0.5,
  },
  {
    ...(EASY_PROFILES[1] as Omit<HospitalProfile, 'id' | 'name'>),
    scanner: { intensityScale: 1.15, intensityOffsetHu: 60, noiseSigmaHu: 34, blurSigmaFraction: 0.01, fieldOfViewScale: 1.25 },
    lesionPrevalence: 0.25,
  },
  {
    ...(EASY_PROFILES[2] as Omit<HospitalProfile, 'id' | 'name'>),
    scanner: { intensityScale: 0.85, intensityOffsetHu: -50, noiseSigmaHu: 24, blurSigmaFraction: 0.03, fieldOfViewScale: 0.85 },
    lesionPrevalence: 0.7,
  },
];

/** How far drawn hospitals (beyond the first three) may stray from the reference scanner. */
const SHIFT_RANGES: Record<FederationDifficulty, { scale: number; offsetHu: number; noiseHu: [number, number]; blur: number; fov: [number, number] }> = {
  easy: { scale: 0.1, offsetHu: 25, noiseHu: [10, 24], blur: 0.02, fov: [0.9, 1.12] },
  hard: { scale: 0.15, offsetHu: 60, noiseHu: [16, 36], blur: 0.03, fov: [0.85, 1.25] },
};

export const LESION_LOOKS: Record<FederationDifficulty, LesionLook> = { easy: OBVIOUS_LESIONS, hard: SUBTLE_LESIONS };

function hospitalLetter(index: number): string {
  // a..z, then aa, ab, ... — ids stay filesystem-safe for any count.
  let n = index;
  let s = '';
  do {
    s = String.fromCharCode(97 + (n % 26)) + s;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return s;
}

/** Profile of hospital number `index` (0-based); beyond the first three they are drawn from the seed. */
export function hospitalProfile(index: number, seed: string, difficulty: FederationDifficulty = 'hard'): HospitalProfile {
  const letter = hospitalLetter(index);
  const id = `hospital-${letter}`;
  const name = `Hospital ${letter.toUpperCase()}`;
  const base = (difficulty === 'hard' ? HARD_PROFILES : EASY_PROFILES)[index];
  if (base) return { id, name, ...base, scanner: { ...base.scanner }, storage: { ...base.storage }, window: { ...base.window } };
  const rng = createRng(`profile:${seed}:${index}`);
  const shift = SHIFT_RANGES[difficulty];
  const signed = rng.next() < 0.5;
  return {
    id,
    name,
    manufacturer: `Fedward Phantom Systems CT-${letter.toUpperCase()}`,
    scanner: {
      intensityScale: rng.uniform(1 - shift.scale, 1 + shift.scale),
      intensityOffsetHu: rng.uniform(-shift.offsetHu, shift.offsetHu),
      noiseSigmaHu: rng.uniform(...shift.noiseHu),
      blurSigmaFraction: rng.uniform(0, shift.blur),
      fieldOfViewScale: rng.uniform(...shift.fov),
    },
    lesionPrevalence: rng.uniform(0.25, 0.7),
    slicesPerPatient: 2 + Math.floor(rng.uniform(0, 6)),
    storage: signed
      ? { pixelRepresentation: 1, bitsStored: 16, rescaleSlope: 1, rescaleIntercept: 0 }
      : { pixelRepresentation: 0, bitsStored: 12, rescaleSlope: 1, rescaleIntercept: -1024 },
    window: { center: Math.round(rng.uniform(35, 55)), width: Math.round(rng.uniform(350, 450)) },
    pngBitDepth: rng.next() < 0.5 ? 8 : 16,
  };
}

export interface FederationOptions {
  hospitals: number;
  task: FederationTask;
  /** Slices are size × size pixels. */
  size: number;
  slicesPerHospital: number;
  seed: string | number;
  /** Default 'hard'. */
  difficulty?: FederationDifficulty;
}

export interface PlannedPatient {
  index: number;
  /** Synthetic identifiers, written into DICOM so ingest has something to hash away. */
  patientId: string;
  patientName: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  label: SliceLabel;
  volume: PhantomVolume;
}

export interface PlannedSlice {
  hospitalId: string;
  patient: PlannedPatient;
  /** 0-based position within the patient's series. */
  sliceIndex: number;
  /** Cut height in phantom units. */
  z: number;
  sliceThicknessMm: number;
  sopInstanceUid: string;
  label: SliceLabel;
  /** File name without extension, unique within a hospital. */
  baseName: string;
  noiseKey: string;
}

export interface PlannedHospital {
  profile: HospitalProfile;
  patients: PlannedPatient[];
  slices: PlannedSlice[];
}

export interface FederationPlan {
  options: FederationOptions;
  hospitals: PlannedHospital[];
}

/** Distance between neighbouring slices in phantom z units. */
const SLICE_GAP = 0.05;
const SLICE_THICKNESS_MM = 2.5;

export function validateFederationOptions(options: FederationOptions): void {
  const { hospitals, size, slicesPerHospital } = options;
  if (!Number.isInteger(hospitals) || hospitals < 1 || hospitals > 64)
    throw new RangeError(`hospitals must be an integer in 1..64 (got ${hospitals})`);
  if (!Number.isInteger(size) || size < 8 || size > 1024) throw new RangeError(`size must be an integer in 8..1024 (got ${size})`);
  if (!Number.isInteger(slicesPerHospital) || slicesPerHospital < 1)
    throw new RangeError(`slicesPerHospital must be a positive integer (got ${slicesPerHospital})`);
  if (options.task !== 'classification' && options.task !== 'segmentation')
    throw new RangeError(`task must be "classification" or "segmentation" (got ${String(options.task)})`);
  if (options.difficulty !== undefined && !FEDERATION_DIFFICULTIES.includes(options.difficulty))
    throw new RangeError(`difficulty must be "hard" or "easy" (got ${String(options.difficulty)})`);
}

/** Chooses exactly round(prevalence × n) positive patients, shuffled by the seed. */
function patientLabels(count: number, prevalence: number, key: string): SliceLabel[] {
  const positives = Math.round(prevalence * count);
  const labels: SliceLabel[] = Array.from({ length: count }, (_, i) => (i < positives ? 'lesion' : 'normal'));
  const rng = createRng(`labels:${key}`);
  for (let i = labels.length - 1; i > 0; i--) {
    const j = Math.floor(rng.next() * (i + 1));
    const t = labels[i] as SliceLabel;
    labels[i] = labels[j] as SliceLabel;
    labels[j] = t;
  }
  return labels;
}

export function planFederation(options: FederationOptions): FederationPlan {
  validateFederationOptions(options);
  const seed = String(options.seed);
  const difficulty = options.difficulty ?? 'hard';
  const hospitals: PlannedHospital[] = [];
  for (let h = 0; h < options.hospitals; h++) {
    const profile = hospitalProfile(h, seed, difficulty);
    const perPatient = profile.slicesPerPatient;
    const patientCount = Math.ceil(options.slicesPerHospital / perPatient);
    const labels = patientLabels(patientCount, profile.lesionPrevalence, `${seed}:${profile.id}`);
    const patients: PlannedPatient[] = [];
    const slices: PlannedSlice[] = [];
    for (let p = 0; p < patientCount; p++) {
      const key = `${seed}:${profile.id}:patient:${p}`;
      const count = Math.min(perPatient, options.slicesPerHospital - p * perPatient);
      const offsets = Array.from({ length: count }, (_, k) => (k - (count - 1) / 2) * SLICE_GAP);
      const label = labels[p] ?? 'normal';
      const patientNumber = String(p + 1).padStart(4, '0');
      const patient: PlannedPatient = {
        index: p,
        patientId: `${profile.id.replace('hospital-', '').toUpperCase()}-${patientNumber}`,
        patientName: `PHANTOM^${profile.name.replace(' ', '')}^${patientNumber}`,
        studyInstanceUid: deterministicUid(`${key}:study`),
        seriesInstanceUid: deterministicUid(`${key}:series`),
        label,
        volume: samplePhantomVolume(createRng(`volume:${key}`), {
          withLesion: label === 'lesion',
          sliceOffsets: offsets,
          lesions: LESION_LOOKS[difficulty],
        }),
      };
      patients.push(patient);
      offsets.forEach((z, k) => {
        const baseName = `p${String(p + 1).padStart(4, '0')}-s${String(k + 1).padStart(2, '0')}`;
        slices.push({
          hospitalId: profile.id,
          patient,
          sliceIndex: k,
          z,
          sliceThicknessMm: SLICE_THICKNESS_MM,
          sopInstanceUid: deterministicUid(`${key}:slice:${k}`),
          label,
          baseName,
          noiseKey: `${key}:slice:${k}`,
        });
      });
    }
    hospitals.push({ profile, patients, slices });
  }
  return { options: { ...options, difficulty }, hospitals };
}

/** Renders a planned slice through its hospital's scanner. */
export function renderPlannedSlice(slice: PlannedSlice, profile: HospitalProfile, size: number): PhantomSlice {
  return renderPhantomSlice({ volume: slice.patient.volume, z: slice.z, size, scanner: profile.scanner, noiseKey: slice.noiseKey });
}
