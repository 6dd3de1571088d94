/**
 * A deliberately small DICOM Part-10 *writer* for the generator: explicit VR
 * little endian, a fixed set of tags, uncompressed 16-bit pixels. Reading
 * DICOM never goes through this file — decoding uses dicom-parser.
 */

export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const CT_IMAGE_STORAGE = '1.2.840.10008.5.1.4.1.1.2';
/** Our implementation class UID (2.25 root, fixed value). */
const IMPLEMENTATION_CLASS_UID = '2.25.163593185830563941093744716516178917465';
const IMPLEMENTATION_VERSION = 'FEDWARD_0_1';

type Value = string | Uint8Array | { uint16: readonly number[] } | { uint32: readonly number[] };

export interface WriteElement {
  group: number;
  element: number;
  vr: string;
  value: Value;
}

/** VRs whose explicit encoding uses 2 reserved bytes and a 32-bit length. */
const LONG_VRS = new Set(['OB', 'OD', 'OF', 'OL', 'OV', 'OW', 'SQ', 'SV', 'UC', 'UN', 'UR', 'UT', 'UV']);

function valueBytes(vr: string, value: Value): Uint8Array {
  let bytes: Uint8Array;
  if (typeof value === 'string') {
    bytes = new Uint8Array(value.length);
    for (let i = 0; i < value.length; i++) bytes[i] = value.charCodeAt(i) & 0x7f;
  } else if (value instanceof Uint8Array) {
    bytes = value;
  } else if ('uint16' in value) {
    bytes = new Uint8Array(value.uint16.length * 2);
    const view = new DataView(bytes.buffer);
    value.uint16.forEach((v, i) => view.setUint16(i * 2, v, true));
  } else {
    bytes = new Uint8Array(value.uint32.length * 4);
    const view = new DataView(bytes.buffer);
    value.uint32.forEach((v, i) => view.setUint32(i * 4, v, true));
  }
  if (bytes.length % 2 === 0) return bytes;
  // Values have even length: UIDs and binary pad with NUL, text with a space.
  const padded = new Uint8Array(bytes.length + 1);
  padded.set(bytes);
  padded[bytes.length] = vr === 'UI' || vr === 'OB' ? 0 : 0x20;
  return padded;
}

function encodeElements(elements: readonly WriteElement[]): Uint8Array {
  const sorted = [...elements].sort((a, b) => a.group - b.group || a.element - b.element);
  const parts = sorted.map((e) => {
    const data = valueBytes(e.vr, e.value);
    const long = LONG_VRS.has(e.vr);
    const header = new Uint8Array(long ? 12 : 8);
    const view = new DataView(header.buffer);
    view.setUint16(0, e.group, true);
    view.setUint16(2, e.element, true);
    header[4] = e.vr.charCodeAt(0);
    header[5] = e.vr.charCodeAt(1);
    if (long) view.setUint32(8, data.length, true);
    else {
      if (data.length > 0xffff) throw new RangeError(`value of (${e.group.toString(16)},${e.element.toString(16)}) too long for VR ${e.vr}`);
      view.setUint16(6, data.length, true);
    }
    return [header, data];
  });
  const total = parts.reduce((n, [h, d]) => n + (h?.length ?? 0) + (d?.length ?? 0), 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const [h, d] of parts)
    for (const chunk of [h, d]) {
      if (!chunk) continue;
      out.set(chunk, offset);
      offset += chunk.length;
    }
  return out;
}

/** Wraps a dataset in a Part-10 file: 128-byte preamble, "DICM", group 0002 meta header. */
export function writePart10(sopClassUid: string, sopInstanceUid: string, dataset: readonly WriteElement[]): Uint8Array {
  const metaBody = encodeElements([
    { group: 0x0002, element: 0x0001, vr: 'OB', value: new Uint8Array([0, 1]) },
    { group: 0x0002, element: 0x0002, vr: 'UI', value: sopClassUid },
    { group: 0x0002, element: 0x0003, vr: 'UI', value: sopInstanceUid },
    { group: 0x0002, element: 0x0010, vr: 'UI', value: EXPLICIT_VR_LITTLE_ENDIAN },
    { group: 0x0002, element: 0x0012, vr: 'UI', value: IMPLEMENTATION_CLASS_UID },
    { group: 0x0002, element: 0x0013, vr: 'SH', value: IMPLEMENTATION_VERSION },
  ]);
  const groupLength = encodeElements([{ group: 0x0002, element: 0x0000, vr: 'UL', value: { uint32: [metaBody.length] } }]);
  const body = encodeElements(dataset);
  const out = new Uint8Array(132 + groupLength.length + metaBody.length + body.length);
  out.set([0x44, 0x49, 0x43, 0x4d], 128); // "DICM"
  out.set(groupLength, 132);
  out.set(metaBody, 132 + groupLength.length);
  out.set(body, 132 + groupLength.length + metaBody.length);
  return out;
}

/** Formats a number for a DS (decimal string) value: at most 16 characters. */
export function decimalString(value: number): string {
  const s = String(Number(value.toPrecision(10)));
  return s.length <= 16 ? s : value.toExponential(6);
}

export interface CtSliceFields {
  rows: number;
  columns: number;
  /** Stored (pre-rescale) values, one per pixel, row-major. */
  stored: Int32Array;
  pixelRepresentation: 0 | 1;
  bitsStored: number;
  rescaleSlope: number;
  rescaleIntercept: number;
  windowCenter: number;
  windowWidth: number;
  pixelSpacingMm: number;
  sliceThicknessMm: number;
  sliceLocationMm: number;
  instanceNumber: number;
  patientId: string;
  patientName: string;
  studyInstanceUid: string;
  seriesInstanceUid: string;
  sopInstanceUid: string;
  manufacturer: string;
  institutionName: string;
  seriesDescription: string;
  /** Free text, e.g. the ground-truth label, for humans reading the file. */
  imageComments?: string;
  studyDate: string;
}

/** A 16-bit CT Image Storage instance, Part-10, explicit VR little endian. */
export function writeCtSlice(f: CtSliceFields): Uint8Array {
  const pixels = new Uint8Array(f.rows * f.columns * 2);
  const view = new DataView(pixels.buffer);
  const min = f.pixelRepresentation === 1 ? -(2 ** (f.bitsStored - 1)) : 0;
  const max = f.pixelRepresentation === 1 ? 2 ** (f.bitsStored - 1) - 1 : 2 ** f.bitsStored - 1;
  for (let i = 0; i < f.rows * f.columns; i++) {
    const v = Math.min(max, Math.max(min, f.stored[i] ?? 0));
    if (f.pixelRepresentation === 1) view.setInt16(i * 2, v, true);
    else view.setUint16(i * 2, v, true);
  }
  const spacing = decimalString(f.pixelSpacingMm);
  const elements: WriteElement[] = [
    { group: 0x0008, element: 0x0005, vr: 'CS', value: 'ISO_IR 100' },
    { group: 0x0008, element: 0x0008, vr: 'CS', value: 'ORIGINAL\\PRIMARY\\AXIAL' },
    { group: 0x0008, element: 0x0016, vr: 'UI', value: CT_IMAGE_STORAGE },
    { group: 0x0008, element: 0x0018, vr: 'UI', value: f.sopInstanceUid },
    { group: 0x0008, element: 0x0020, vr: 'DA', value: f.studyDate },
    { group: 0x0008, element: 0x0060, vr: 'CS', value: 'CT' },
    { group: 0x0008, element: 0x0070, vr: 'LO', value: f.manufacturer },
    { group: 0x0008, element: 0x0080, vr: 'LO', value: f.institutionName },
    { group: 0x0008, element: 0x103e, vr: 'LO', value: f.seriesDescription },
    { group: 0x0010, element: 0x0010, vr: 'PN', value: f.patientName },
    { group: 0x0010, element: 0x0020, vr: 'LO', value: f.patientId },
    { group: 0x0018, element: 0x0050, vr: 'DS', value: decimalString(f.sliceThicknessMm) },
    { group: 0x0020, element: 0x000d, vr: 'UI', value: f.studyInstanceUid },
    { group: 0x0020, element: 0x000e, vr: 'UI', value: f.seriesInstanceUid },
    { group: 0x0020, element: 0x0011, vr: 'IS', value: '1' },
    { group: 0x0020, element: 0x0013, vr: 'IS', value: String(f.instanceNumber) },
    {
      group: 0x0020,
      element: 0x0032,
      vr: 'DS',
      value: [
        decimalString((-f.columns * f.pixelSpacingMm) / 2),
        decimalString((-f.rows * f.pixelSpacingMm) / 2),
        decimalString(f.sliceLocationMm),
      ].join('\\'),
    },
    { group: 0x0020, element: 0x0037, vr: 'DS', value: '1\\0\\0\\0\\1\\0' },
    { group: 0x0020, element: 0x1041, vr: 'DS', value: decimalString(f.sliceLocationMm) },
    ...(f.imageComments ? [{ group: 0x0020, element: 0x4000, vr: 'LT', value: f.imageComments }] : []),
    { group: 0x0028, element: 0x0002, vr: 'US', value: { uint16: [1] } },
    { group: 0x0028, element: 0x0004, vr: 'CS', value: 'MONOCHROME2' },
    { group: 0x0028, element: 0x0010, vr: 'US', value: { uint16: [f.rows] } },
    { group: 0x0028, element: 0x0011, vr: 'US', value: { uint16: [f.columns] } },
    { group: 0x0028, element: 0x0030, vr: 'DS', value: `${spacing}\\${spacing}` },
    { group: 0x0028, element: 0x0100, vr: 'US', value: { uint16: [16] } },
    { group: 0x0028, element: 0x0101, vr: 'US', value: { uint16: [f.bitsStored] } },
    { group: 0x0028, element: 0x0102, vr: 'US', value: { uint16: [f.bitsStored - 1] } },
    { group: 0x0028, element: 0x0103, vr: 'US', value: { uint16: [f.pixelRepresentation] } },
    { group: 0x0028, element: 0x1050, vr: 'DS', value: decimalString(f.windowCenter) },
    { group: 0x0028, element: 0x1051, vr: 'DS', value: decimalString(f.windowWidth) },
    { group: 0x0028, element: 0x1052, vr: 'DS', value: decimalString(f.rescaleIntercept) },
    { group: 0x0028, element: 0x1053, vr: 'DS', value: decimalString(f.rescaleSlope) },
    { group: 0x0028, element: 0x1054, vr: 'LO', value: 'HU' },
    { group: 0x7fe0, element: 0x0010, vr: 'OW', value: pixels },
  ];
  return writePart10(CT_IMAGE_STORAGE, f.sopInstanceUid, elements);
}
