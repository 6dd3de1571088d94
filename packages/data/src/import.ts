/**
 * Import pipeline: files from a folder → decoded, labelled, preprocessed,
 * identifier-free slices in the local store. Platform-free (no DOM, no fs):
 * the hospital app runs it in a Web Worker, Node runs it in tests and benches.
 * A bad file becomes a per-file error and the rest of the folder still loads.
 * An import is marked in the store from its first stored slice to its last (`beginImport`,
 * `finishImport`), so one cut short by a reload or a crash is known as such afterwards.
 */
import { decodeDicom } from './dicom/decode';
import { FileReads } from './file-reads';
import { DataError } from './errors';
import { labelFromFolder, ManifestError, parseManifest, patientFromPath, type ManifestEntry } from './labels';
import { decodePng, isPng } from './png';
import { dicomToUnit, maskToSquare, pngToUnit, quantize, type WindowChoice } from './preprocess';
import { DEFAULT_WINDOW, dicomSquare, pngSquare } from './slice-file';
import { saltedBytesHash, saltedHash } from './privacy';
import { checkStorageSpace, patientIdCoverage, StorageSpaceError, type DatasetSummary, type PatientIdCoverage, type PatientSource, type SliceStore } from './store';
import type { FederationTask } from './federation';

/** What the importer needs of a file: a File from an <input webkitdirectory> maps onto it directly. */
export interface ImportFile {
  name: string;
  /** Path inside the chosen folder, '/'-separated (File.webkitRelativePath, or the name). */
  relativePath: string;
  bytes(): Promise<Uint8Array>;
  /** Byte size when known up front; used for the storage estimate only. */
  size?: number;
  /**
   * The file itself when it is a Blob (a File from the folder picker). Optional; with it, many
   * small files are read in one request to the browser process, much faster than one by one.
   */
  blob?: Blob;
}

export interface ImportProgress {
  /** Image files to process (manifests and skipped files excluded). */
  total: number;
  processed: number;
  imported: number;
  failed: number;
  skipped: number;
  currentFile?: string;
}

export interface ImportOptions {
  store: SliceStore;
  /** Model input: slices are stored as targetSize × targetSize. */
  targetSize: number;
  task?: FederationTask;
  window?: WindowChoice;
  signal?: AbortSignal;
  onProgress?: (progress: ImportProgress) => void;
  /** Slices per stored batch (one IndexedDB transaction each). */
  batchSize?: number;
  /** Skip the storage-quota check (Node, tests). */
  skipQuotaCheck?: boolean;
  /** Files whose bytes are requested ahead of the one being decoded (default 64); see FileReads. */
  readAhead?: number;
  /**
   * Replace the stored slices with this import's, once it has stored its last slice (until
   * then the old ones stay; a cancelled or failed import leaves them as they were). Without
   * it the import adds to them. Either way a file already stored is never stored again.
   */
  replace?: boolean;
}

/**
 * Why a file was not imported: 'unsupported' (not a DICOM or PNG slice: JPEG, text, …),
 * 'duplicate' (already stored, or twice in the folder), 'no-label' (no class for it),
 * 'unreadable' (a corrupt or unsupported image, or a read error), 'manifest' (a manifest.csv
 * that could not be used).
 */
export type FileProblemKind = 'unsupported' | 'duplicate' | 'no-label' | 'unreadable' | 'manifest';

export interface FileProblem {
  file: string;
  kind: FileProblemKind;
  error: string;
}

export interface ImportResult {
  imported: number;
  /** Files that were meant to load and could not: unreadable images, unusable manifests. */
  failed: FileProblem[];
  /** Files passed over, with why: not images (manifests excluded), without a label, duplicates. */
  skipped: FileProblem[];
  cancelled: boolean;
  /** Whether the stored slices were replaced (`replace` and at least one slice stored). */
  replaced: boolean;
  /** Things about the folder as a whole worth a look (e.g. several hospitals' folders in it). */
  warnings: string[];
  seconds: number;
  /** Of `seconds`, the time spent waiting for file bytes and for the store; the rest is decoding and preprocessing. */
  waits: { readSeconds: number; storeSeconds: number };
  /**
   * This import's slices by what grouped them: a patient id, a DICOM study (no PatientID), or
   * nothing (each slice its own unit); `patientIds` sums it up. `summary` has the same for
   * everything stored.
   */
  patients: { patientIds: PatientIdCoverage; withPatient: number; byStudy: number; withoutPatient: number };
  summary: DatasetSummary;
}

const IGNORED_NAMES = new Set(['DICOMDIR', '.DS_Store', 'Thumbs.db', 'desktop.ini']);
const NON_IMAGE_EXTENSIONS = new Set(['txt', 'json', 'xml', 'html', 'htm', 'pdf', 'md', 'zip', 'ini', 'log', 'jpg', 'jpeg', 'bmp', 'tif', 'tiff']);

function extension(name: string): string {
  const i = name.lastIndexOf('.');
  return i <= 0 ? '' : name.slice(i + 1).toLowerCase();
}

function normalizePath(path: string): string {
  return path.replace(/\\/g, '/').replace(/^\/+/, '');
}

/** The folder shared by every path (the one the user picked), so labels start below it. */
function commonDirectory(paths: readonly string[]): string {
  if (paths.length === 0) return '';
  let common = (paths[0] ?? '').split('/').slice(0, -1);
  for (const p of paths) {
    const dirs = p.split('/').slice(0, -1);
    let i = 0;
    while (i < common.length && i < dirs.length && common[i] === dirs[i]) i++;
    common = common.slice(0, i);
  }
  return common.join('/');
}

class ImportCancelled extends Error {}

/** Why a file is a duplicate: its bytes, its DICOM SOP Instance UID, or (PNG) its path were stored already. */
const DUPLICATE = { 'same-file': 'same file contents', 'same-instance': 'same SOP Instance UID', 'same-path': 'same path in the folder' } as const;

const NO_LABEL = 'has no label: put slices in one subfolder per class (e.g. lesion/, normal/) or add a manifest.csv with "file,label"';

export function newImportId(): string {
  const bytes = new Uint8Array(8);
  globalThis.crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/**
 * Imports files into the store. Cancelling (signal) removes what this import
 * had stored, so the summary is never half an import.
 */
export async function importFiles(files: Iterable<ImportFile> | AsyncIterable<ImportFile>, options: ImportOptions): Promise<ImportResult> {
  const started = performance.now();
  const { store, targetSize, signal, onProgress } = options;
  const task = options.task ?? 'classification';
  const windowChoice = options.window ?? DEFAULT_WINDOW;
  const batchSize = options.batchSize ?? 64;
  if (!Number.isInteger(targetSize) || targetSize < 4 || targetSize > 1024)
    throw new RangeError(`targetSize must be an integer in 4..1024 (got ${targetSize})`);

  const all: ImportFile[] = [];
  for await (const f of files)
    all.push({
      name: f.name,
      relativePath: normalizePath(f.relativePath || f.name),
      bytes: () => f.bytes(),
      ...(f.size === undefined ? {} : { size: f.size }),
      ...(f.blob === undefined ? {} : { blob: f.blob }),
    });
  const byPath = new Map(all.map((f) => [f.relativePath, f]));
  const failed: FileProblem[] = [];
  const skipped: FileProblem[] = [];

  // Manifests first: they decide labels and which files are masks.
  const manifestEntries = new Map<string, ManifestEntry>();
  const maskPaths = new Set<string>();
  let usesMaskManifest = false;
  const manifestFolders: string[] = [];
  for (const f of all.filter((f) => extension(f.name) === 'csv')) {
    try {
      const manifest = parseManifest(new TextDecoder().decode(await f.bytes()), f.relativePath);
      manifestFolders.push(f.relativePath.split('/').slice(0, -1).join('/'));
      usesMaskManifest ||= manifest.kind === 'mask';
      for (const entry of manifest.entries) {
        manifestEntries.set(entry.file, entry);
        if (entry.mask) maskPaths.add(entry.mask);
      }
    } catch (error) {
      if (!(error instanceof ManifestError)) throw error;
      failed.push({ file: f.relativePath, kind: 'manifest', error: `manifest ignored: ${error.message}` });
    }
  }
  const warnings: string[] = [];
  if (manifestFolders.length > 1) {
    // One hospital's export has one manifest; several side by side are usually several hospitals.
    const named = manifestFolders.slice(0, 3).map((f) => `${f || '.'}/`).join(', ');
    warnings.push(
      `This folder holds ${manifestFolders.length} folders with their own manifest.csv (${named}${manifestFolders.length > 3 ? ', …' : ''}). ` +
        'If they are different hospitals or exports, pick only your own folder.',
    );
  }

  const images: ImportFile[] = [];
  for (const f of all) {
    const ext = extension(f.name);
    if (ext === 'csv' || maskPaths.has(f.relativePath)) continue;
    if (IGNORED_NAMES.has(f.name) || f.name.startsWith('._') || NON_IMAGE_EXTENSIONS.has(ext)) {
      const error = ext === 'jpg' || ext === 'jpeg' ? 'JPEG photos are not slices; export DICOM or PNG' : `not an image slice (${ext ? `.${ext} file` : 'system file'}); DICOM or PNG expected`;
      skipped.push({ file: f.relativePath, kind: 'unsupported', error });
      continue;
    }
    images.push(f);
  }
  const root = commonDirectory(images.map((f) => f.relativePath));
  const belowRoot = (path: string): string => (root ? path.slice(root.length + 1) : path);
  const labelOf = (path: string): string | undefined => {
    const entry = manifestEntries.get(path);
    if (entry?.label) return entry.label;
    return labelFromFolder(belowRoot(path));
  };
  // A classification slice without a label cannot be used: say so without reading it.
  const candidates: ImportFile[] = [];
  for (const f of images) {
    if (task === 'classification' && labelOf(f.relativePath) === undefined)
      skipped.push({ file: f.relativePath, kind: 'no-label', error: NO_LABEL });
    else candidates.push(f);
  }

  const nothingStored = async (): Promise<ImportResult> => ({
    imported: 0,
    failed,
    skipped,
    cancelled: false,
    replaced: false,
    warnings,
    seconds: (performance.now() - started) / 1000,
    waits: { readSeconds: 0, storeSeconds: 0 },
    patients: { patientIds: patientIdCoverage(0, 0), withPatient: 0, byStudy: 0, withoutPatient: 0 },
    summary: await store.summary(),
  });
  // Nothing to load: the store is left exactly as it was (a replace replaces nothing).
  if (candidates.length === 0) return nothingStored();

  if (!options.skipQuotaCheck) {
    // Stored payload per slice: 2 bytes per pixel, plus a mask byte per pixel for segmentation.
    const perSlice = targetSize * targetSize * (task === 'segmentation' ? 3 : 2) + 256;
    const check = await checkStorageSpace(perSlice * candidates.length);
    if (check.status === 'short') throw new StorageSpaceError(check.message);
  }
  const settings = { size: targetSize, task };
  const replace = options.replace ?? false;
  if (!replace) {
    // Adding: the slices of an import cut short are dropped first, so their files load again now
    // (a replace drops them when it finishes, with every other slice, and records its settings).
    await store.discardUnfinishedImport();
    await store.claimSettings(settings);
  }
  const salt = await store.salt();
  // Many slices share a patient and a study: hash each distinct value once.
  const hashCache = new Map<string, Promise<string>>();
  const cachedHash = (kind: string, value: string): Promise<string> => {
    const key = `${kind}\u0000${value}`;
    let hash = hashCache.get(key);
    if (!hash) {
      hash = saltedHash(salt, kind, value);
      hashCache.set(key, hash);
    }
    return hash;
  };
  // Replacing: only a file twice in this folder is a duplicate, the stored ones are about to go.
  const known = replace ? new Set<string>() : await store.instanceHashes();
  const importId = newImportId();
  let begun = false;

  const progress: ImportProgress = { total: candidates.length, processed: 0, imported: 0, failed: failed.length, skipped: skipped.length };
  const area = targetSize * targetSize;
  let batch = emptyBatch();
  function emptyBatch() {
    return {
      pixels: new Uint16Array(batchSize * area),
      masks: task === 'segmentation' ? new Uint8Array(batchSize * area) : undefined,
      labels: [] as string[],
      patientHashes: [] as string[],
      studyHashes: [] as string[],
      instanceHashes: [] as string[],
      modalities: [] as string[],
      patientSources: [] as PatientSource[],
      fileHashes: [] as string[],
    };
  }
  // One batch is written while the next is prepared: IndexedDB works in the browser process, so
  // its time overlaps with decoding here. A failed write surfaces at the next flush or at the end.
  let writing: Promise<unknown> | null = null;
  let readWait = 0;
  let storeWait = 0;
  const waitForWrite = async (): Promise<void> => {
    const t = performance.now();
    try {
      await writing;
    } finally {
      writing = null;
      storeWait += performance.now() - t;
    }
  };
  const flush = async (): Promise<void> => {
    const n = batch.labels.length;
    if (n === 0) return;
    const input = {
      importId,
      pixels: n === batchSize ? batch.pixels : batch.pixels.slice(0, n * area),
      ...(batch.masks ? { masks: n === batchSize ? batch.masks : batch.masks.slice(0, n * area) } : {}),
      labels: batch.labels,
      patientHashes: batch.patientHashes,
      studyHashes: batch.studyHashes,
      instanceHashes: batch.instanceHashes,
      modalities: batch.modalities,
      patientSources: batch.patientSources,
      fileHashes: batch.fileHashes,
    };
    batch = emptyBatch();
    await waitForWrite();
    if (!begun) {
      await store.beginImport(importId);
      begun = true;
    }
    writing = store.putBatch(input, targetSize);
    writing.catch(() => undefined); // observed by waitForWrite; this only avoids an unhandled-rejection report meanwhile
  };
  const checkCancelled = (): void => {
    if (signal?.aborted) throw new ImportCancelled();
  };

  // Candidates are read ahead (and in groups when they are Blobs) while earlier ones are decoded.
  const reads = new FileReads(candidates, options.readAhead === undefined ? {} : { ahead: options.readAhead });
  const sourceCounts: Record<PatientSource, number> = { patient: 0, study: 0, slice: 0 };

  try {
    for (const [index, file] of candidates.entries()) {
      checkCancelled();
      progress.currentFile = file.relativePath;
      let row: Awaited<ReturnType<typeof prepareSlice>> | 'same-file' | null;
      let fileHash = '';
      try {
        const t = performance.now();
        const bytes = await reads.read(index);
        readWait += performance.now() - t;
        // The file's hash is computed (by WebCrypto, off this thread in browsers) while it is decoded.
        const hashing = saltedBytesHash(salt, bytes);
        hashing.catch(() => undefined); // observed below unless decoding fails first
        const prepared = await prepareSlice(file, bytes);
        fileHash = await hashing;
        row = known.has(fileHash) ? 'same-file' : prepared;
      } catch (error) {
        // One unreadable file never stops the folder: any failure here is that file's.
        const message = error instanceof DataError ? error.problem : `could not be read (${error instanceof Error ? error.message : String(error)})`;
        failed.push({ file: file.relativePath, kind: 'unreadable', error: message });
        progress.failed++;
        row = null;
      }
      if (typeof row === 'string') {
        skipped.push({ file: file.relativePath, kind: 'duplicate', error: `already imported (${DUPLICATE[row]})` });
        progress.skipped++;
      } else if (row) {
        const k = batch.labels.length;
        quantize(row.pixels, batch.pixels, k * area);
        if (batch.masks && row.mask) batch.masks.set(row.mask, k * area);
        batch.labels.push(row.label);
        batch.patientHashes.push(row.patientHash);
        batch.studyHashes.push(row.studyHash);
        batch.instanceHashes.push(row.instanceHash);
        batch.modalities.push(row.modality);
        batch.patientSources.push(row.patientSource);
        batch.fileHashes.push(fileHash);
        sourceCounts[row.patientSource]++;
        known.add(row.instanceHash);
        known.add(fileHash);
        progress.imported++;
        if (batch.labels.length === batchSize) await flush();
      }
      progress.processed++;
      onProgress?.({ ...progress });
    }
    checkCancelled();
    await flush();
    await waitForWrite();
    if (begun) await store.finishImport(importId, replace ? { settings } : undefined);
  } catch (error) {
    reads.clear(); // reads still in flight settle unobserved; their results are dropped
    await waitForWrite().catch(() => undefined); // so that removeImport below also removes that batch
    if (!(error instanceof ImportCancelled)) {
      // Leave no partial import behind on a storage failure either.
      await store.removeImport(importId).catch(() => undefined);
      await store.finishImport(importId).catch(() => undefined);
      throw error;
    }
    await store.removeImport(importId);
    await store.finishImport(importId);
    return { ...(await nothingStored()), cancelled: true, waits: waits() };
  }
  return {
    imported: progress.imported,
    failed,
    skipped,
    cancelled: false,
    replaced: replace && begun,
    warnings,
    seconds: (performance.now() - started) / 1000,
    waits: waits(),
    patients: patients(),
    summary: await store.summary(),
  };

  function waits(): ImportResult['waits'] {
    return { readSeconds: readWait / 1000, storeSeconds: storeWait / 1000 };
  }

  function patients(): ImportResult['patients'] {
    const { patient, study, slice } = sourceCounts;
    const total = patient + study + slice;
    return { patientIds: patientIdCoverage(total, study + slice), withPatient: patient, byStudy: study, withoutPatient: study + slice };
  }

  /**
   * Which unit a slice belongs to, in this order: the manifest's patient column; the DICOM
   * PatientID; the file naming (`<id>__….png`, or a `patient-<id>/` folder; README); the DICOM
   * StudyInstanceUID; else the file itself, so the slice is a unit of its own. Ids from the
   * manifest, the DICOM tag and the naming share one hash space: the same id is one patient.
   */
  function patientKeyOf(path: string, entry: ManifestEntry | undefined, ids?: { patientId?: string; studyInstanceUid?: string }): { key: string; source: PatientSource } {
    // Below the picked folder only: the picked folder's own name (say "patient-data") says nothing.
    const id = entry?.patient ?? ids?.patientId ?? patientFromPath(belowRoot(path));
    if (id !== undefined) return { key: id, source: 'patient' };
    if (ids?.studyInstanceUid !== undefined) return { key: ids.studyInstanceUid, source: 'study' };
    return { key: `file:${path}`, source: 'slice' };
  }

  async function prepareSlice(file: ImportFile, bytes: Uint8Array) {
    const path = file.relativePath;
    const entry = manifestEntries.get(path);
    let label = labelOf(path);
    let mask: Uint8Array | undefined;
    if (task === 'segmentation') {
      if (!entry?.mask)
        throw new DataError(path, usesMaskManifest ? 'not listed in the mask manifest; add a "file,mask" row for it' : 'segmentation needs a "file,mask" manifest.csv pairing each slice with its mask');
      const maskFile = byPath.get(entry.mask);
      if (!maskFile) throw new DataError(path, `its mask ${entry.mask} is not in the imported folder; include the masks folder`);
      const maskBytes = await maskFile.bytes();
      const maskImage = isPng(maskBytes) ? pngToUnit(decodePng(maskBytes, entry.mask)) : dicomToUnit(await decodeDicom(maskBytes, entry.mask), 'auto');
      mask = maskToSquare(maskImage, targetSize);
      label ??= mask.some((v) => v > 0) ? 'lesion' : 'normal';
    }
    if (label === undefined) throw new DataError(path, NO_LABEL);

    // The hashes are computed (by WebCrypto, off this thread in browsers) while the pixels are prepared.
    if (isPng(bytes)) {
      const png = decodePng(bytes, path);
      // PNG carries no identifiers: the manifest's patient column or the file naming, else each file is its own unit.
      const { key: patientKey, source: patientSource } = patientKeyOf(path, entry);
      const hashes = Promise.all([saltedHash(salt, 'png-file', path), cachedHash('patient', patientKey), cachedHash('study', patientKey)]);
      const pixels = pngSquare(png, targetSize);
      const [instanceHash, patientHash, studyHash] = await hashes;
      if (known.has(instanceHash)) return 'same-path' as const;
      return { pixels, mask, label, patientHash, studyHash, instanceHash, modality: 'PNG', patientSource };
    }
    const slice = await decodeDicom(bytes, path);
    const ids = slice.identifiers;
    const { key: patientKey, source: patientSource } = patientKeyOf(path, entry, ids);
    const hashes = Promise.all([
      saltedHash(salt, 'instance', ids.sopInstanceUid ?? `file:${path}`),
      cachedHash('patient', patientKey),
      cachedHash('study', ids.studyInstanceUid ?? patientKey),
    ]);
    const pixels = dicomSquare(slice, targetSize, windowChoice);
    const [instanceHash, patientHash, studyHash] = await hashes;
    if (known.has(instanceHash)) return 'same-instance' as const;
    return {
      pixels,
      mask,
      label,
      patientHash,
      studyHash,
      instanceHash,
      modality: slice.modality ?? 'OT',
      patientSource,
    };
  }
}
