/**
 * Where labels come from: a CSV manifest (`file,label` or `file,mask`, an
 * optional `patient` column), or else the folder a file sits in
 * (class-per-subfolder). Manifest paths are relative to the manifest's folder.
 */

export type ManifestKind = 'label' | 'mask';

export interface ManifestEntry {
  /** Path relative to the import root, '/'-separated. */
  file: string;
  label?: string;
  /** Mask path relative to the import root. */
  mask?: string;
  /** Optional grouping key for files without DICOM identifiers (e.g. PNG). */
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
  const patientCol = header.indexOf('patient');
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

/**
 * Class-per-subfolder: the name of the folder holding the file. Files lying
 * directly in the import root have no label (undefined).
 */
export function labelFromFolder(relativePath: string): string | undefined {
  const parts = relativePath.split('/').filter(Boolean);
  return parts.length >= 2 ? parts[parts.length - 2] : undefined;
}
