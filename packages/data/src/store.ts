/**
 * Local slice store in IndexedDB (via idb). Slices are kept preprocessed
 * (windowed, resized, quantised to 16 bits) in batches, next to a small
 * per-batch index from which the dataset summary is computed without touching
 * pixels. No file names, patient IDs or UIDs are stored — only salted hashes.
 *
 * Schema history (bump SCHEMA_VERSION and add a step in upgrade()):
 *   1 — meta, batches, batchInfo (batchInfo.importId index)
 *   (still 1) batchInfo.patientSources added, optional: batches stored before it count as
 *   "patient not known" in the summary (see `DatasetSummary.patientIds`). No upgrade step
 *   is needed for an optional field of a stored value.
 *   (still 1) batchInfo.fileHashes added, optional (salted hashes of the files' bytes, so adding a
 *   folder again never stores a file twice); meta 'import-in-progress' added (see beginImport).
 */
import { deleteDB, openDB, type DBSchema, type IDBPDatabase, type IDBPTransaction } from 'idb';
import { createRng } from './random';
import { randomSalt } from './privacy';
import { modelInput, type Normalization } from './preprocess';
import type { FederationTask } from './federation';

export const SCHEMA_VERSION = 1;
export const DEFAULT_STORE_NAME = 'fedward-data';

export interface StoreSettings {
  /** Slices are size × size. */
  size: number;
  task: FederationTask;
}

/**
 * What a slice's patient hash stands for:
 * - 'patient': a patient id (manifest column, DICOM PatientID, or the file/folder naming);
 * - 'study': a DICOM StudyInstanceUID, the file having no PatientID (one unit per study:
 *   one person with two studies is two units);
 * - 'slice': nothing: the slice is its own unit (its file path was hashed).
 */
export type PatientSource = 'patient' | 'study' | 'slice';

/** Whether the local slices are grouped by real patient ids: every slice, some, or none. */
export type PatientIdCoverage = 'all' | 'some' | 'none';

export interface SliceBatchInput {
  importId: string;
  /** Preprocessed slices, count × size × size, [0, 1] quantised to 0..65535. */
  pixels: Uint16Array;
  /** Segmentation: count × size × size of 0/1. */
  masks?: Uint8Array;
  labels: string[];
  patientHashes: string[];
  studyHashes: string[];
  instanceHashes: string[];
  modalities: string[];
  /** Per slice, what its patient hash stands for. */
  patientSources?: PatientSource[];
  /** Per slice, the salted hash of its file's bytes (`saltedBytesHash`): the same file is never stored twice. */
  fileHashes?: string[];
}

interface BatchRecord {
  id?: number;
  size: number;
  count: number;
  pixels: Uint16Array;
  masks?: Uint8Array;
}

interface BatchInfoRecord {
  id: number;
  importId: string;
  count: number;
  labels: string[];
  patientHashes: string[];
  studyHashes: string[];
  instanceHashes: string[];
  modalities: string[];
  /** Absent in batches stored before it was recorded: those slices count as 'unknown'. */
  patientSources?: PatientSource[];
  /** Absent in batches stored before it was recorded: those are recognised by instance hash only. */
  fileHashes?: string[];
  bytes: number;
}

/**
 * Written before an import stores its first slice and removed after its last one (or after a
 * cancel has removed what it stored). Still there on the next visit means the page was closed,
 * reloaded or crashed mid-import: the stored slices are then part of a folder only.
 */
interface ImportMarker {
  importId: string;
  startedAt: number;
}

const IMPORT_MARKER = 'import-in-progress';

interface SliceDb extends DBSchema {
  meta: { key: string; value: unknown };
  batches: { key: number; value: BatchRecord };
  batchInfo: { key: number; value: BatchInfoRecord; indexes: { importId: string } };
}

export interface DatasetSummary {
  slices: number;
  settings?: StoreSettings;
  /** Slice counts per label (classification) — segmentation slices count as their mask's presence: "lesion"/"normal" if given. */
  labels: Record<string, number>;
  modalities: Record<string, number>;
  /** Slice counts per salted patient hash. */
  patients: Record<string, number>;
  patientCount: number;
  studyCount: number;
  /**
   * 'all' when every slice's patient hash comes from a patient id; 'none' when no slice's does;
   * else 'some'. Without an id a slice is one unit on its own (or one per DICOM study), so
   * privacy figures and the held-out split are per slice (per study) for it, not per patient.
   * Slices stored before this was recorded count as without an id (conservative).
   */
  patientIds: PatientIdCoverage;
  /** Slices whose unit is not a patient: `slicesByStudy` + per-slice ones + `slicesUnchecked`. */
  slicesWithoutPatient: number;
  /** Of those, DICOM slices grouped by StudyInstanceUID (no PatientID). */
  slicesByStudy: number;
  /** Of those, slices stored by an older version that did not record where their patient came from. */
  slicesUnchecked: number;
  batches: number;
  /** Bytes of pixel (and mask) payload stored. */
  bytes: number;
  /**
   * Slice counts per salted patient hash and label, so that a split along patients can be
   * counted per label without reading a slice.
   */
  labelsByPatient: Record<string, Record<string, number>>;
  /**
   * An import that started and never finished (page closed, reloaded or crashed meanwhile):
   * when it started and how many of the stored slices it had written. Null when none.
   */
  unfinishedImport: { startedAt: number; slices: number } | null;
}

/** A stored slice for a preview: size × size, [0, 1] quantised to 0..65535. */
export interface SampleSlice {
  label: string;
  size: number;
  pixels: Uint16Array;
}

export interface ReadBatchesOptions {
  batchSize: number;
  normalization?: Normalization;
  /** Shuffle stored batches and slices within a bounded window; omit for stored order. */
  shuffleSeed?: string | number;
  /**
   * Slices held in the shuffle buffer (default 2048). Stored batches follow the import order,
   * often one label folder after another, so mixing across many of them is what keeps a
   * training batch from holding a single class. Memory grows with this, not with the dataset.
   */
  shuffleBuffer?: number;
  /** Keep only slices whose patient passes, e.g. a patient-disjoint split. */
  patientFilter?: (patientHash: string) => boolean;
  /** Label → class index; defaults to the sorted labels of the summary. */
  classes?: readonly string[];
}

export interface TrainingBatch {
  size: number;
  count: number;
  /** count × size × size, normalised. */
  x: Float32Array;
  labels: string[];
  /** Index of each label in `classes` (-1 when absent). */
  labelIndices: Int32Array;
  classes: readonly string[];
  masks?: Uint8Array;
  patientHashes: string[];
}

/** Raised when the browser refuses to store more; the message says what to do. */
export class StorageSpaceError extends Error {
  override readonly name = 'StorageSpaceError';
}

export interface StorageCheck {
  /** 'unavailable' where the Storage API is missing (Node, old browsers). */
  status: 'ok' | 'short' | 'unavailable';
  usageBytes?: number;
  quotaBytes?: number;
  neededBytes: number;
  message: string;
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(bytes < 1e7 ? 1 : 0)} MB`;
}

/** Compares an import's estimated size with the browser's storage quota. */
export async function checkStorageSpace(neededBytes: number, storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<StorageCheck> {
  if (!storage?.estimate) return { status: 'unavailable', neededBytes, message: 'storage quota cannot be checked in this environment' };
  const { usage = 0, quota = 0 } = await storage.estimate();
  const free = quota - usage;
  // Keep a margin: IndexedDB needs room for its own bookkeeping and compaction.
  if (free < neededBytes * 1.2)
    return {
      status: 'short',
      usageBytes: usage,
      quotaBytes: quota,
      neededBytes,
      message:
        `Not enough browser storage for this import: about ${mb(neededBytes)} needed, ${mb(Math.max(0, free))} free ` +
        `(${mb(usage)} used of a ${mb(quota)} quota). Free disk space, remove local data, or import fewer slices.`,
    };
  return { status: 'ok', usageBytes: usage, quotaBytes: quota, neededBytes, message: `${mb(free)} free for ${mb(neededBytes)}` };
}

/**
 * Asks the browser not to evict local data under storage pressure. Returns
 * whether data is persisted; 'unavailable' where the Storage API is missing.
 */
export async function requestPersistence(storage: StorageManager | undefined = globalThis.navigator?.storage): Promise<boolean | 'unavailable'> {
  if (!storage?.persist) return 'unavailable';
  if (storage.persisted && (await storage.persisted())) return true;
  return storage.persist();
}

function isQuotaError(error: unknown): boolean {
  const name = (error as { name?: string } | null)?.name;
  return name === 'QuotaExceededError' || name === 'NS_ERROR_DOM_QUOTA_REACHED';
}

/** A transaction over every store: an import's slices and its marker change together. */
type WriteTx = IDBPTransaction<SliceDb, ('meta' | 'batches' | 'batchInfo')[], 'readwrite'>;
const ALL_STORES: ('meta' | 'batches' | 'batchInfo')[] = ['meta', 'batches', 'batchInfo'];

/** Deletes one import's batches; returns how many. */
async function deleteImport(tx: WriteTx, importId: string): Promise<number> {
  const ids = await tx.objectStore('batchInfo').index('importId').getAllKeys(importId);
  for (const id of ids) {
    await tx.objectStore('batches').delete(id);
    await tx.objectStore('batchInfo').delete(id);
  }
  return ids.length;
}

async function dropUnfinishedImport(tx: WriteTx): Promise<void> {
  const meta = tx.objectStore('meta');
  const marker = (await meta.get(IMPORT_MARKER)) as ImportMarker | undefined;
  if (!marker) return;
  await meta.delete(IMPORT_MARKER);
  await deleteImport(tx, marker.importId);
}

function count(into: Record<string, number>, key: string, n = 1): void {
  into[key] = (into[key] ?? 0) + n;
}

export class SliceStore {
  private constructor(
    private readonly db: IDBPDatabase<SliceDb>,
    readonly name: string,
  ) {}

  static async open(name: string = DEFAULT_STORE_NAME): Promise<SliceStore> {
    const db = await openDB<SliceDb>(name, SCHEMA_VERSION, {
      upgrade(database, oldVersion) {
        if (oldVersion < 1) {
          database.createObjectStore('meta');
          database.createObjectStore('batches', { keyPath: 'id', autoIncrement: true });
          database.createObjectStore('batchInfo', { keyPath: 'id' }).createIndex('importId', 'importId');
        }
      },
      blocking() {
        // Another tab wants a newer schema: let it, by closing this connection.
        db.close();
      },
    });
    return new SliceStore(db, name);
  }

  close(): void {
    this.db.close();
  }

  /** The per-store salt for identifier hashes, created on first use. */
  async salt(): Promise<string> {
    const tx = this.db.transaction('meta', 'readwrite');
    let salt = (await tx.store.get('salt')) as string | undefined;
    if (!salt) {
      salt = randomSalt();
      await tx.store.put(salt, 'salt');
    }
    await tx.done;
    return salt;
  }

  async settings(): Promise<StoreSettings | undefined> {
    return (await this.db.get('meta', 'settings')) as StoreSettings | undefined;
  }

  /**
   * Fixes the slice size and task on first import; later imports must match
   * because every stored batch has to feed the same model.
   */
  async claimSettings(settings: StoreSettings): Promise<void> {
    const tx = this.db.transaction(['meta', 'batchInfo'], 'readwrite');
    const meta = tx.objectStore('meta');
    const current = (await meta.get('settings')) as StoreSettings | undefined;
    const hasData = (await tx.objectStore('batchInfo').count()) > 0;
    if (current && hasData && (current.size !== settings.size || current.task !== settings.task)) {
      tx.abort();
      await tx.done.catch(() => undefined);
      throw new Error(
        `local data holds ${current.task} slices at ${current.size}×${current.size}; this import wants ${settings.task} at ` +
          `${settings.size}×${settings.size}. Remove local data first, replace the stored slices with this import, or import with the same settings.`,
      );
    }
    await meta.put(settings, 'settings');
    await tx.done;
  }

  /** Stores one batch and its index entry atomically. */
  async putBatch(input: SliceBatchInput, size: number): Promise<number> {
    const n = input.labels.length;
    if (input.pixels.length !== n * size * size) throw new Error(`batch has ${input.pixels.length} pixel values for ${n} slices of ${size}×${size}`);
    const bytes = input.pixels.byteLength + (input.masks?.byteLength ?? 0);
    try {
      const tx = this.db.transaction(['batches', 'batchInfo'], 'readwrite');
      const record: BatchRecord = { size, count: n, pixels: input.pixels, ...(input.masks ? { masks: input.masks } : {}) };
      const id = await tx.objectStore('batches').add(record);
      await tx.objectStore('batchInfo').put({
        id,
        importId: input.importId,
        count: n,
        labels: input.labels,
        patientHashes: input.patientHashes,
        studyHashes: input.studyHashes,
        instanceHashes: input.instanceHashes,
        modalities: input.modalities,
        ...(input.patientSources ? { patientSources: input.patientSources } : {}),
        ...(input.fileHashes ? { fileHashes: input.fileHashes } : {}),
        bytes,
      });
      await tx.done;
      return id;
    } catch (error) {
      if (isQuotaError(error))
        throw new StorageSpaceError(
          'The browser ran out of storage space while saving slices. Free disk space or remove local data, then import again.',
        );
      throw error;
    }
  }

  /**
   * Hashes of every stored instance and file, so importing a folder again skips what is already
   * stored. Instance and file hashes are salted with different kinds, so one set holds both.
   */
  async instanceHashes(): Promise<Set<string>> {
    const set = new Set<string>();
    for (const info of await this.db.getAll('batchInfo')) {
      for (const h of info.instanceHashes) set.add(h);
      for (const h of info.fileHashes ?? []) set.add(h);
    }
    return set;
  }

  /**
   * Marks an import as started, before its first slice is stored. In the same transaction it
   * removes the slices of an earlier import that never finished, so that no import builds on a
   * partial folder.
   */
  async beginImport(importId: string): Promise<void> {
    const tx = this.db.transaction(ALL_STORES, 'readwrite');
    await dropUnfinishedImport(tx);
    await tx.objectStore('meta').put({ importId, startedAt: Date.now() } satisfies ImportMarker, IMPORT_MARKER);
    await tx.done;
  }

  /** Removes the slices of an import that never finished, and its marker. */
  async discardUnfinishedImport(): Promise<void> {
    const tx = this.db.transaction(ALL_STORES, 'readwrite');
    await dropUnfinishedImport(tx);
    await tx.done;
  }

  /**
   * Marks an import as finished, after its last slice is stored: its marker is removed (another
   * import's marker, from another tab, stays). With `replace`, the slices of every other import
   * are removed and `settings` recorded in the same transaction, so the store holds either the
   * old slices or the new ones (plus the marker saying the new ones are partial), never a mix
   * that looks complete. The salt stays: the same patients keep the same hashes, hence the same
   * side of the held-out split and the same sub-client.
   */
  async finishImport(importId: string, replace?: { settings: StoreSettings }): Promise<void> {
    const tx = this.db.transaction(ALL_STORES, 'readwrite');
    const meta = tx.objectStore('meta');
    if (replace) {
      const infos = tx.objectStore('batchInfo');
      for (const info of await infos.getAll()) {
        if (info.importId === importId) continue;
        await tx.objectStore('batches').delete(info.id);
        await infos.delete(info.id);
      }
      await meta.put(replace.settings, 'settings');
    }
    const marker = (await meta.get(IMPORT_MARKER)) as ImportMarker | undefined;
    if (marker?.importId === importId) await meta.delete(IMPORT_MARKER);
    await tx.done;
  }

  /**
   * Up to `count` stored slices for a preview, taken in turn from each label and spread evenly
   * over that label's slices (the same ones every time, for the same data).
   */
  async sampleSlices(count: number): Promise<SampleSlice[]> {
    const byLabel = new Map<string, { id: number; index: number }[]>();
    for (const info of await this.db.getAll('batchInfo'))
      info.labels.forEach((label, index) => {
        const slots = byLabel.get(label) ?? [];
        slots.push({ id: info.id, index });
        byLabel.set(label, slots);
      });
    // Evenly spaced picks within each label, then one label after the other: a few of every class.
    const perLabel = Math.ceil(count / Math.max(1, byLabel.size));
    const picks = [...byLabel.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([label, slots]) => {
        const n = Math.min(slots.length, perLabel);
        return Array.from({ length: n }, (_, k) => ({ label, slot: slots[Math.floor((k * slots.length) / n)] as { id: number; index: number } }));
      });
    const chosen: { label: string; slot: { id: number; index: number } }[] = [];
    for (let k = 0; k < perLabel; k++)
      for (const list of picks) {
        const pick = list[k];
        if (pick && chosen.length < count) chosen.push(pick);
      }
    const records = new Map<number, BatchRecord | undefined>();
    const samples: SampleSlice[] = [];
    for (const { label, slot } of chosen) {
      if (!records.has(slot.id)) records.set(slot.id, await this.db.get('batches', slot.id));
      const record = records.get(slot.id);
      if (!record) continue; // removed meanwhile ("Remove local data" in another tab)
      const area = record.size * record.size;
      samples.push({ label, size: record.size, pixels: record.pixels.slice(slot.index * area, (slot.index + 1) * area) });
    }
    return samples;
  }

  async summary(): Promise<DatasetSummary> {
    const infos = await this.db.getAll('batchInfo');
    const settings = await this.settings();
    const marker = (await this.db.get('meta', IMPORT_MARKER)) as ImportMarker | undefined;
    const summary: DatasetSummary = {
      slices: 0,
      ...(settings ? { settings } : {}),
      labels: {},
      modalities: {},
      patients: {},
      patientCount: 0,
      studyCount: 0,
      patientIds: 'none',
      slicesWithoutPatient: 0,
      slicesByStudy: 0,
      slicesUnchecked: 0,
      batches: infos.length,
      bytes: 0,
      labelsByPatient: {},
      unfinishedImport: marker ? { startedAt: marker.startedAt, slices: 0 } : null,
    };
    const studies = new Set<string>();
    for (const info of infos) {
      summary.slices += info.count;
      summary.bytes += info.bytes;
      if (summary.unfinishedImport && info.importId === marker?.importId) summary.unfinishedImport.slices += info.count;
      info.labels.forEach((l) => count(summary.labels, l));
      info.modalities.forEach((m) => count(summary.modalities, m));
      info.patientHashes.forEach((p, k) => {
        count(summary.patients, p);
        count((summary.labelsByPatient[p] ??= {}), info.labels[k] ?? '');
      });
      info.studyHashes.forEach((s) => studies.add(s));
      const sources = Array.isArray(info.patientSources) ? info.patientSources : null;
      for (let k = 0; k < info.count; k++) {
        const source = sources?.[k];
        if (source === 'patient') continue;
        summary.slicesWithoutPatient++;
        if (source === 'study') summary.slicesByStudy++;
        else if (source !== 'slice') summary.slicesUnchecked++;
      }
    }
    summary.patientCount = Object.keys(summary.patients).length;
    summary.studyCount = studies.size;
    summary.patientIds = patientIdCoverage(summary.slices, summary.slicesWithoutPatient);
    return summary;
  }

  /** Deletes what one import stored (used when an import is cancelled or fails). */
  async removeImport(importId: string): Promise<number> {
    const tx = this.db.transaction(ALL_STORES, 'readwrite');
    const removed = await deleteImport(tx, importId);
    await tx.done;
    return removed;
  }

  /** "Remove local data": every slice, the settings and the salt. */
  async clear(): Promise<void> {
    const tx = this.db.transaction(['meta', 'batches', 'batchInfo'], 'readwrite');
    await Promise.all([tx.objectStore('meta').clear(), tx.objectStore('batches').clear(), tx.objectStore('batchInfo').clear(), tx.done]);
  }

  /**
   * Streams training batches: one stored batch is read at a time (each in its
   * own short transaction, so training may await between batches), re-cut to
   * `batchSize`. Memory stays at about two stored batches whatever the
   * dataset size.
   */
  async *readBatches(options: ReadBatchesOptions): AsyncGenerator<TrainingBatch> {
    const { batchSize, normalization = 'unit', patientFilter } = options;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a positive integer (got ${batchSize})`);
    const infos = await this.db.getAll('batchInfo');
    const settings = await this.settings();
    const classes = options.classes ?? [...new Set(infos.flatMap((i) => i.labels))].sort();
    const classIndex = new Map(classes.map((c, i) => [c, i]));
    const rng = options.shuffleSeed === undefined ? null : createRng(`read:${options.shuffleSeed}`);
    const shuffle = <T>(items: T[]): T[] => {
      if (!rng) return items;
      for (let i = items.length - 1; i > 0; i--) {
        const j = Math.floor(rng.next() * (i + 1));
        [items[i], items[j]] = [items[j] as T, items[i] as T];
      }
      return items;
    };
    type Pending = { pixels: Uint16Array; mask?: Uint8Array; label: string; patient: string };
    const pending: Pending[] = [];
    let size = settings?.size ?? 0;
    const emit = (items: Pending[]): TrainingBatch => {
      const area = size * size;
      const x = new Float32Array(items.length * area);
      const hasMasks = items.some((it) => it.mask);
      const masks = hasMasks ? new Uint8Array(items.length * area) : undefined;
      items.forEach((it, k) => {
        modelInput(it.pixels, normalization, x.subarray(k * area, (k + 1) * area));
        if (masks && it.mask) masks.set(it.mask, k * area);
      });
      return {
        size,
        count: items.length,
        x,
        labels: items.map((it) => it.label),
        labelIndices: Int32Array.from(items, (it) => classIndex.get(it.label) ?? -1),
        classes,
        ...(masks ? { masks } : {}),
        patientHashes: items.map((it) => it.patient),
      };
    };
    // Unshuffled: stored order. Shuffled: a buffer of up to `bufferSize` slices from many stored
    // batches; each training batch draws random slices from it (swap-remove), then it refills.
    const bufferSize = rng ? Math.max(batchSize, options.shuffleBuffer ?? 2048) : batchSize;
    const draw = (n: number): Pending[] => {
      if (!rng) return pending.splice(0, n);
      const out: Pending[] = [];
      for (let k = 0; k < n; k++) {
        const i = Math.floor(rng.next() * pending.length);
        out.push(pending[i] as Pending);
        pending[i] = pending[pending.length - 1] as Pending;
        pending.pop();
      }
      return out;
    };
    for (const info of shuffle([...infos])) {
      const record = await this.db.get('batches', info.id);
      if (!record) continue; // removed while reading (e.g. "remove local data" during training)
      size = record.size;
      const area = size * size;
      for (let k = 0; k < record.count; k++) {
        const patient = info.patientHashes[k] ?? '';
        if (patientFilter && !patientFilter(patient)) continue;
        const item: Pending = { pixels: record.pixels.subarray(k * area, (k + 1) * area), label: info.labels[k] ?? '', patient };
        if (record.masks) item.mask = record.masks.subarray(k * area, (k + 1) * area);
        pending.push(item);
      }
      while (pending.length >= bufferSize) yield emit(draw(batchSize));
    }
    while (pending.length > 0) yield emit(draw(Math.min(batchSize, pending.length)));
  }
}

export interface PatientIdStatus {
  patientIds: PatientIdCoverage;
  slices: number;
  slicesWithoutPatient: number;
  slicesByStudy: number;
  slicesUnchecked: number;
}

/**
 * The patient-id fields of a summary, read defensively: a summary made before they existed
 * (no `patientIds`) reads as 'none' with every slice unchecked, never as 'all'.
 */
export function patientIdStatus(summary: { slices: number } & Partial<Omit<PatientIdStatus, 'slices'>>): PatientIdStatus {
  const { slices } = summary;
  const known = summary.patientIds === 'all' || summary.patientIds === 'some' || summary.patientIds === 'none';
  if (!known) return { patientIds: 'none', slices, slicesWithoutPatient: slices, slicesByStudy: 0, slicesUnchecked: slices };
  return {
    patientIds: summary.patientIds as PatientIdCoverage,
    slices,
    slicesWithoutPatient: summary.slicesWithoutPatient ?? (summary.patientIds === 'all' ? 0 : slices),
    slicesByStudy: summary.slicesByStudy ?? 0,
    slicesUnchecked: summary.slicesUnchecked ?? 0,
  };
}

/** 'all' when no slice lacks a patient id (and there are slices), 'none' when all do, else 'some'. */
export function patientIdCoverage(slices: number, withoutPatient: number): PatientIdCoverage {
  if (withoutPatient === 0 && slices > 0) return 'all';
  return withoutPatient >= slices ? 'none' : 'some';
}

export function openSliceStore(name: string = DEFAULT_STORE_NAME): Promise<SliceStore> {
  return SliceStore.open(name);
}

/** Removes the whole database (stronger than clear(): also drops the schema). */
export function deleteSliceStore(name: string = DEFAULT_STORE_NAME): Promise<void> {
  return deleteDB(name);
}

/**
 * Patient-disjoint split from a salted patient hash: the first 32 bits as a
 * fraction in [0, 1). Every slice of a patient lands on the same side.
 */
export function patientFraction(patientHash: string): number {
  return Number.parseInt(patientHash.slice(0, 8) || '0', 16) / 2 ** 32;
}
