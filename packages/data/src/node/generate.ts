/** Writes a generated federation to disk (Node only). */
import { mkdir, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { federationFiles, type FederationFormat } from '../federation-files';
import type { FederationOptions } from '../federation';

export interface GenerateFederationOptions extends FederationOptions {
  outDir: string;
  format: FederationFormat;
}

export interface GeneratedFederation {
  outDir: string;
  /** Absolute-or-as-given paths of every file written, in write order. */
  files: string[];
  /** Per hospital: its folder and manifest. */
  hospitals: Array<{ id: string; dir: string; manifest: string; files: string[] }>;
}

/**
 * Re-generating into the same folder must not leave slices of an earlier,
 * larger run behind (they would be imported as extra data). We only delete
 * what a previous federation.json says we wrote, and refuse foreign folders.
 */
async function clearPreviousFederation(outDir: string): Promise<void> {
  const entries = await readdir(outDir).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return [] as string[];
    throw e;
  });
  if (entries.length === 0) return;
  let previous: { hospitals?: Array<{ id?: unknown }> };
  try {
    previous = JSON.parse(await readFile(join(outDir, 'federation.json'), 'utf8')) as typeof previous;
  } catch {
    throw new Error(`${outDir} is not empty and holds no federation.json from an earlier run; choose an empty or new --out folder.`);
  }
  for (const h of previous.hospitals ?? [])
    if (typeof h.id === 'string' && /^hospital-[a-z]+$/.test(h.id)) await rm(join(outDir, h.id), { recursive: true, force: true });
  await rm(join(outDir, 'federation.json'), { force: true });
}

export async function generateFederation(options: GenerateFederationOptions): Promise<GeneratedFederation> {
  const { outDir, format, ...plan } = options;
  await clearPreviousFederation(outDir);
  const files: string[] = [];
  const hospitals = new Map<string, GeneratedFederation['hospitals'][number]>();
  const madeDirs = new Set<string>();
  for (const file of federationFiles(plan, format)) {
    const path = join(outDir, ...file.relativePath.split('/'));
    const dir = dirname(path);
    if (!madeDirs.has(dir)) {
      await mkdir(dir, { recursive: true });
      madeDirs.add(dir);
    }
    await writeFile(path, file.bytes);
    files.push(path);
    const [hospitalId, ...rest] = file.relativePath.split('/');
    if (hospitalId === undefined || rest.length === 0) continue;
    let entry = hospitals.get(hospitalId);
    if (!entry) {
      entry = { id: hospitalId, dir: join(outDir, hospitalId), manifest: join(outDir, hospitalId, 'manifest.csv'), files: [] };
      hospitals.set(hospitalId, entry);
    }
    if (rest.join('/') !== 'manifest.csv') entry.files.push(path);
  }
  return { outDir, files, hospitals: [...hospitals.values()] };
}
