import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FederationDifficulty, FederationSummary } from '@fedward/data';
import { generateFederation } from '@fedward/data/node';
import { UsageError } from './options';

/** One hospital's folder of a generated federation, with what the generator says it holds. */
export interface HospitalData {
  /** The folder's name, e.g. hospital-a: also the hospital's name at the server. */
  id: string;
  folder: string;
  slices: number;
  patients: number;
  counts: Record<string, number>;
}

export interface FederationData {
  dir: string;
  generated: boolean;
  format: string;
  hospitals: HospitalData[];
}

/**
 * The federation's data: an existing generated folder (--data), or a new one written by the
 * project's generator. `count` null takes every hospital of the folder.
 */
export async function prepareData(o: {
  data: string | null;
  count: number | null;
  outDir: string;
  imageSize: number;
  generate: { format: 'png' | 'dicom'; slicesPerHospital: number; seed: number; difficulty: FederationDifficulty };
}): Promise<FederationData> {
  let dir = o.data;
  if (!dir) {
    dir = join(o.outDir, 'data');
    await generateFederation({
      outDir: dir,
      format: o.generate.format,
      task: 'classification',
      hospitals: o.count ?? 3,
      size: o.imageSize,
      slicesPerHospital: o.generate.slicesPerHospital,
      seed: o.generate.seed,
      difficulty: o.generate.difficulty,
    });
  }
  const summary = readSummary(dir);
  const count = o.count ?? summary.hospitals.length;
  if (summary.hospitals.length < count) {
    throw new UsageError(`--hospitals ${count}: ${dir} holds only ${summary.hospitals.length} hospital${summary.hospitals.length === 1 ? '' : 's'}`);
  }
  return {
    dir,
    generated: o.data === null,
    format: summary.options.format,
    hospitals: summary.hospitals.slice(0, count).map((h) => ({
      id: h.id,
      folder: join(dir, h.id),
      slices: h.slices,
      patients: h.patients,
      counts: h.counts,
    })),
  };
}

function readSummary(dir: string): FederationSummary {
  const file = join(dir, 'federation.json');
  if (!existsSync(file)) throw new UsageError(`--data ${dir}: no federation.json there (make one with npm run generate-federation)`);
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as FederationSummary;
  } catch (e) {
    throw new UsageError(`--data ${dir}: federation.json is not readable JSON (${(e as Error).message})`);
  }
}
