/**
 * Where labels come from: a CSV manifest (`file,label` or `file,mask`, an
 * optional patient column), or else the folder a file sits in
 * (class-per-subfolder). Manifest paths are relative to the manifest's folder.
 * Where patient ids come from when a file carries none (PNG): the manifest's
 * patient column, else a documented file or folder naming (`patientFromPath`).
 */

export type ManifestKind = 'label' | 'mask';

export interface ManifestEntry {
  /** Path relative to the import root, '/'-separated. */
  file: string;
  label?: string;
  /** Mask path relative to the import root. */
  mask?: string;
  /**
   * The patient the slice belongs to (column `patient`, `patient_id` or `PatientID`, any case).
   * It overrides the DICOM PatientID; for PNG it is the only id besides the file naming.
   */
  patient?: string;
}

export interface Manifest {
  kind: ManifestKind;
  entries: ManifestEntry[];
}

/** Splits one CSV line, honouring double-quoted fields with "" escapes. */
function splitCsvLine(line: string): string[] {
  const fields: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      fields.push(field.trim());
      field = '';
    } else field += c;
  }
  fields.push(field.trim());
  return fields;
}

/** Joins a manifest-relative path onto the manifest's folder, resolving `.` and `..`. */
export function joinPath(dir: string, relative: string): string {
  const parts = relative.startsWith('/') ? [] : dir.split('/').filter(Boolean);
  for (const part of relative.replace(/\\/g, '/').split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return parts.join('/');
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i < 0 ? '' : path.slice(0, i);
}

export class ManifestError extends Error {}

/** Manifest header names (compared lower-cased) of the patient column. */
const PATIENT_COLUMNS = new Set(['patient', 'patient_id', 'patientid']);

/**
 * Parses a manifest found at `manifestPath` (relative to the import root).
 * Throws ManifestError with the line number and the fix when malformed.
 */
export function parseManifest(text: string, manifestPath: string): Manifest {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\n|\r/);
  const headerIndex = lines.findIndex((l) => l.trim() !== '');
  if (headerIndex < 0) throw new ManifestError('the manifest is empty; its first line must be "file,label" or "file,mask"');
  const header = splitCsvLine(lines[headerIndex] ?? '').map((h) => h.toLowerCase());
  const fileCol = header.indexOf('file');
  const labelCol = header.indexOf('label');
  const maskCol = header.indexOf('mask');
  const patientCol = header.findIndex((h) => PATIENT_COLUMNS.has(h));
  if (fileCol < 0 || (labelCol < 0 && maskCol < 0))
    throw new ManifestError(`the header is "${lines[headerIndex]?.trim()}"; it must name the columns "file,label" or "file,mask"`);
  const kind: ManifestKind = maskCol >= 0 ? 'mask' : 'label';
  const dir = dirname(manifestPath);
  const entries: ManifestEntry[] = [];
  for (let i = headerIndex + 1; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (line.trim() === '') continue;
    const fields = splitCsvLine(line);
    const file = fields[fileCol] ?? '';
    const value = fields[kind === 'mask' ? maskCol : labelCol] ?? '';
    if (file === '' || value === '')
      throw new ManifestError(`line ${i + 1} ("${line.trim()}") lacks a file or a ${kind}; every row needs both`);
    const entry: ManifestEntry = { file: joinPath(dir, file) };
    if (kind === 'mask') entry.mask = joinPath(dir, value);
    else entry.label = value;
    const patient = patientCol >= 0 ? fields[patientCol] : undefined;
    if (patient) entry.patient = patient;
    entries.push(entry);
  }
  return { kind, entries };
}

/** A folder named `patient-<id>` (any case of "patient") holds one patient's slices. */
const PATIENT_FOLDER = /^patient-(.+)$/i;
/** A file named `<id>__<anything>` (double underscore) is a slice of patient `<id>`. */
const PATIENT_FILE_SEPARATOR = '__';

/**
 * Class-per-subfolder: the name of the folder holding the file, skipping
 * `patient-<id>` folders (so `lesion/patient-7/a.png` is a lesion slice).
 * Files lying directly in the import root have no label (undefined).
 */
export function labelFromFolder(relativePath: string): string | undefined {
  const folders = relativePath.split('/').filter(Boolean).slice(0, -1);
  for (let i = folders.length - 1; i >= 0; i--) {
    const folder = folders[i] ?? '';
    if (!PATIENT_FOLDER.test(folder)) return folder;
  }
  return undefined;
}

/**
 * The patient id a file's path gives, when the slices are named for it (README):
 * a file named `<id>__<anything>.png` (double underscore; the id is the part before it),
 * else the nearest folder named `patient-<id>`. Undefined when the path names no patient.
 */
export function patientFromPath(relativePath: string): string | undefined {
  const parts = relativePath.split('/').filter(Boolean);
  const name = parts.at(-1) ?? '';
  const cut = name.indexOf(PATIENT_FILE_SEPARATOR);
  if (cut > 0) return name.slice(0, cut);
  for (let i = parts.length - 2; i >= 0; i--) {
    const id = PATIENT_FOLDER.exec(parts[i] ?? '')?.[1];
    if (id) return id;
  }
  return undefined;
}
