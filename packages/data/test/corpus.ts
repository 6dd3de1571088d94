/** Test helpers: the real-DICOM corpus and the independent reference decoder. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const PACKAGE_DIR = join(import.meta.dirname, '..');
export const CORPUS_DIR = join(PACKAGE_DIR, '.corpus');
const FETCH = 'bash packages/data/scripts/fetch-dicom-corpus.sh';

/** Absolute path of a corpus file; fails (never skips) when the corpus was not fetched. */
export function corpusFile(relative: string): string {
  if (!existsSync(join(CORPUS_DIR, '.complete-v1')))
    throw new Error(`the real-DICOM test corpus is missing: run \`${FETCH}\` first (it installs dcmtk and python3-pydicom with apt)`);
  const path = join(CORPUS_DIR, relative);
  if (!existsSync(path)) throw new Error(`${relative} is missing from ${CORPUS_DIR}: delete the folder and run \`${FETCH}\` again`);
  return path;
}

export function corpusBytes(relative: string): Uint8Array {
  return new Uint8Array(readFileSync(corpusFile(relative)));
}

export interface Reference {
  file: string;
  ok: boolean;
  rows: number;
  cols: number;
  samples: number;
  photometric: string;
  values: number[];
  error?: string;
}

/**
 * Decodes files with pydicom + numpy from Debian (/usr/bin/python3; the python3
 * first on PATH may be another one without them) — one process for all files.
 */
export function referencePixels(paths: readonly string[]): Map<string, Reference> {
  const script = join(PACKAGE_DIR, 'scripts', 'reference_pixels.py');
  let out: string;
  try {
    out = execFileSync('/usr/bin/python3', [script, ...paths], { encoding: 'utf8', maxBuffer: 256 * 2 ** 20 });
  } catch (error) {
    throw new Error(`the reference decoder (pydicom via /usr/bin/python3) failed: ${(error as Error).message}; run \`${FETCH}\``);
  }
  const map = new Map<string, Reference>();
  for (const line of out.split('\n').filter(Boolean)) {
    const ref = JSON.parse(line) as Reference;
    map.set(ref.file, ref);
  }
  return map;
}
