/**
 * DICOM → DecodedSlice: first frame of an image, as rescaled numbers
 * (Hounsfield units for CT). Parsing by dicom-parser, compressed pixel data by
 * codec packages; this module interprets the image attributes.
 */
import { DataError } from '../errors';
import { decodeCompressedFrame, type DecodedFrame } from './codecs';
import { DicomParseProblem, dicomParserApi, parseDicomFile, type DataSet, type Element } from './parse';
import { decodeRleFrame } from './rle';
import { describeTransferSyntax, transferSyntaxInfo, type TransferSyntaxInfo } from './transfer-syntax';
import type { Window } from '../window';

export interface DicomIdentifiers {
  patientId?: string;
  studyInstanceUid?: string;
  seriesInstanceUid?: string;
  sopInstanceUid?: string;
}

export interface DecodedSlice {
  fileName: string;
  rows: number;
  columns: number;
  /** 1 for grayscale, 3 for colour (then `values` is interleaved RGB). */
  samplesPerPixel: number;
  /** Photometric interpretation of `values` (colour JPEG/YBR are converted to RGB). */
  photometric: string;
  transferSyntaxUid: string;
  transferSyntaxName: string;
  modality?: string;
  /** First frame, modality LUT applied (slope × stored + intercept), row-major. */
  values: Float64Array;
  numberOfFrames: number;
  bitsAllocated: number;
  bitsStored: number;
  pixelRepresentation: 0 | 1;
  rescaleSlope: number;
  rescaleIntercept: number;
  /** First WindowCenter/WindowWidth pair in the file, if any. */
  window?: Window;
  /** MONOCHROME1: low values are displayed bright, so windowed output must be inverted. */
  invert: boolean;
  /** Raw identifiers — only for hashing at ingest; never store them. */
  identifiers: DicomIdentifiers;
  instanceNumber?: number;
}

const PIXEL_DATA = 'x7fe00010';

function optionalString(dataSet: DataSet, tag: string): string | undefined {
  const s = dataSet.string(tag);
  return s === undefined || s === '' ? undefined : s;
}

function requiredUint16(dataSet: DataSet, tag: string, name: string, fail: (m: string) => never): number {
  const v = dataSet.uint16(tag);
  if (v === undefined) fail(`the image has no ${name} (${tag.slice(1, 5)},${tag.slice(5)}); the file is incomplete — re-export it`);
  return v;
}

/** Frame 0 of encapsulated (compressed) pixel data, following PS3.5 A.4 fragment rules. */
function firstEncapsulatedFrame(dataSet: DataSet, element: Element, numberOfFrames: number): Uint8Array {
  const fragments = element.fragments ?? [];
  if (fragments.length === 0) throw new Error('the encapsulated pixel data has no fragments');
  let frame;
  if (numberOfFrames <= 1) frame = dicomParserApi.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, fragments.length);
  else if ((element.basicOffsetTable ?? []).length > 0) frame = dicomParserApi.readEncapsulatedImageFrame(dataSet, element, 0);
  else if (fragments.length === numberOfFrames) frame = dicomParserApi.readEncapsulatedPixelDataFromFragments(dataSet, element, 0, 1);
  else frame = dicomParserApi.readEncapsulatedImageFrame(dataSet, element, 0, dicomParserApi.createJPEGBasicOffsetTable(dataSet, element));
  return new Uint8Array(frame.buffer, frame.byteOffset, frame.byteLength);
}

/**
 * Reads n integer samples; applies BitsStored masking and sign extension, then
 * the modality LUT (value × slope + intercept) in the same pass.
 */
function readSamples(
  bytes: Uint8Array,
  count: number,
  bytesPerSample: number,
  signed: boolean,
  bitsStored: number,
  bigEndian: boolean,
  slope = 1,
  intercept = 0,
): Float64Array {
  const out = new Float64Array(count);
  if (bytesPerSample === 4) {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const modulus = 2 ** bitsStored;
    for (let i = 0; i < count; i++) {
      const v = view.getUint32(i * 4, !bigEndian) % modulus;
      out[i] = (signed && v >= modulus / 2 ? v - modulus : v) * slope + intercept;
    }
    return out;
  }
  // 8/16-bit: integer maths. Bits above BitsStored may carry overlays, so keep
  // the low BitsStored bits, then sign-extend them when PixelRepresentation is 1.
  const mask = bitsStored >= 32 ? -1 : (1 << bitsStored) - 1;
  const shift = 32 - bitsStored;
  if (bytesPerSample === 1) {
    for (let i = 0; i < count; i++) {
      const v = (bytes[i] ?? 0) & mask;
      out[i] = (signed ? (v << shift) >> shift : v) * slope + intercept;
    }
    return out;
  }
  // Typed-array fast path relies on a little-endian host, as every browser platform is.
  // One loop per case keeps the per-sample work to a load, a mask and a multiply-add.
  if (bytes.byteOffset % 2 === 0 && !bigEndian) {
    const words = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
    if (signed) for (let i = 0; i < count; i++) out[i] = ((((words[i] ?? 0) & mask) << shift) >> shift) * slope + intercept;
    else for (let i = 0; i < count; i++) out[i] = ((words[i] ?? 0) & mask) * slope + intercept;
    return out;
  }
  for (let i = 0; i < count; i++) {
    const raw = bigEndian
      ? ((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)
      : (bytes[2 * i] ?? 0) | ((bytes[2 * i + 1] ?? 0) << 8);
    const v = raw & mask;
    out[i] = (signed ? (v << shift) >> shift : v) * slope + intercept;
  }
  return out;
}

/** YCbCr (full range, ITU-R BT.601 as used by DICOM YBR_FULL) → RGB, in place on interleaved values. */
function ybrFullToRgb(values: Float64Array, maxValue: number): void {
  const mid = (maxValue + 1) / 2;
  for (let i = 0; i + 2 < values.length; i += 3) {
    const y = values[i] ?? 0;
    const cb = (values[i + 1] ?? 0) - mid;
    const cr = (values[i + 2] ?? 0) - mid;
    const clamp = (v: number): number => Math.min(maxValue, Math.max(0, Math.round(v)));
    values[i] = clamp(y + 1.402 * cr);
    values[i + 1] = clamp(y - 0.344136 * cb - 0.714136 * cr);
    values[i + 2] = clamp(y + 1.772 * cb);
  }
}

function planarToInterleaved(values: Float64Array, samples: number): Float64Array {
  const pixels = values.length / samples;
  const out = new Float64Array(values.length);
  for (let s = 0; s < samples; s++) for (let p = 0; p < pixels; p++) out[p * samples + s] = values[s * pixels + p] ?? 0;
  return out;
}

function noPixelDataMessage(dataSet: DataSet): string {
  const modality = optionalString(dataSet, 'x00080060');
  const what =
    modality === 'RTPLAN'
      ? 'an RT plan'
      : modality === 'SR'
        ? 'a structured report'
        : modality
          ? `a DICOM object of modality ${modality}`
          : 'a DICOM object without an image';
  return `no pixel data — this is ${what}, not an image slice; leave it out (it is skipped, the rest of the folder still loads)`;
}

/**
 * Decodes the first frame of a DICOM file. Rejects with a DataError naming
 * the file, the problem and the fix; never with anything else.
 */
export async function decodeDicom(bytes: Uint8Array, fileName: string): Promise<DecodedSlice> {
  try {
    return await decodeOrFail(bytes, fileName);
  } catch (error) {
    if (error instanceof DataError) throw error;
    // A library tripping over an unusual file is still one bad file, not a failed import.
    const why = error instanceof Error ? error.message : String(error);
    throw new DataError(fileName, `could not be decoded (${why}); re-export it uncompressed, or leave it out`);
  }
}

async function decodeOrFail(bytes: Uint8Array, fileName: string): Promise<DecodedSlice> {
  const fail = (message: string): never => {
    throw new DataError(fileName, message);
  };
  let parsed;
  try {
    parsed = parseDicomFile(bytes);
  } catch (error) {
    if (!(error instanceof DicomParseProblem)) throw error;
    // An image header was read but the file ends inside the pixel data.
    if (error.partial?.elements['x00280010'] && error.message.includes('truncated'))
      return fail(
        'pixel data is truncated: the file ends before the image data is complete; copy it again from the PACS export',
      );
    return fail(error.message);
  }
  const { dataSet } = parsed;
  const ts: TransferSyntaxInfo = transferSyntaxInfo(parsed.transferSyntaxUid);
  const pixelElement = dataSet.elements[PIXEL_DATA];
  if (!pixelElement) return fail(noPixelDataMessage(dataSet));

  const rows = requiredUint16(dataSet, 'x00280010', 'Rows', fail);
  const columns = requiredUint16(dataSet, 'x00280011', 'Columns', fail);
  const bitsAllocated = requiredUint16(dataSet, 'x00280100', 'BitsAllocated', fail);
  const bitsStored = dataSet.uint16('x00280101') ?? bitsAllocated;
  const pixelRepresentation = dataSet.uint16('x00280103') === 1 ? 1 : 0;
  const samplesPerPixel = dataSet.uint16('x00280002') ?? 1;
  const planar = dataSet.uint16('x00280006') === 1;
  let photometric = (optionalString(dataSet, 'x00280004') ?? (samplesPerPixel === 3 ? 'RGB' : 'MONOCHROME2')).toUpperCase();
  const numberOfFrames = Math.max(1, dataSet.intString('x00280008') ?? 1);
  if (rows === 0 || columns === 0) return fail(`the image is ${rows}×${columns} pixels (empty); re-export it`);
  if (![8, 16, 32].includes(bitsAllocated))
    return fail(`BitsAllocated ${bitsAllocated} is not supported (8, 16 or 32 expected); this is probably a binary segmentation or overlay, not an image slice`);
  if (samplesPerPixel !== 1 && samplesPerPixel !== 3)
    return fail(`SamplesPerPixel ${samplesPerPixel} is not supported (1 or 3 expected)`);
  if (photometric === 'PALETTE COLOR')
    return fail('PALETTE COLOR images are not supported; export the series as grayscale (MONOCHROME2) or RGB');

  const pixelCount = rows * columns;
  const sampleCount = pixelCount * samplesPerPixel;
  let bytesPerSample = bitsAllocated / 8;
  let signed = pixelRepresentation === 1;
  let sampleBytes: Uint8Array;
  let bigEndian = false;

  if (ts.encoding === 'unsupported')
    return fail(`pixel data in ${describeTransferSyntax(ts)} cannot be decoded here; re-export uncompressed (e.g. \`dcmconv +te\`, or "uncompressed" in the PACS export)`);
  if (ts.encoding === 'native') {
    if (pixelElement.encapsulatedPixelData)
      return fail(`pixel data is encapsulated but the transfer syntax ${describeTransferSyntax(ts)} says uncompressed; the file is inconsistent — re-export it`);
    if (photometric === 'YBR_FULL_422' || photometric === 'YBR_PARTIAL_422')
      return fail(`uncompressed ${photometric} (chroma-subsampled) is not supported; convert it to RGB (e.g. \`dcmconv +cl\`) or export as RGB`);
    const frameBytes = sampleCount * bytesPerSample;
    const available = Math.min(pixelElement.length, dataSet.byteArray.length - pixelElement.dataOffset);
    if (available < frameBytes)
      return fail(`pixel data is truncated: ${Math.max(0, available)} bytes present, ${frameBytes} needed for ${rows}×${columns}×${samplesPerPixel} at ${bitsAllocated} bits; copy the file again from the PACS export`);
    // Padding after the first frame (odd lengths, trailing bytes, later frames) is ignored.
    sampleBytes = new Uint8Array(dataSet.byteArray.buffer, dataSet.byteArray.byteOffset + pixelElement.dataOffset, frameBytes);
    bigEndian = ts.bigEndian;
  } else {
    let frame: Uint8Array;
    try {
      frame = firstEncapsulatedFrame(dataSet, pixelElement, numberOfFrames);
    } catch (error) {
      return fail(`could not read the compressed pixel data (${describeTransferSyntax(ts)}): ${(error as Error).message ?? String(error)}; the file may be truncated — copy it again`);
    }
    if (ts.encoding === 'rle') {
      try {
        sampleBytes = decodeRleFrame(frame, rows, columns, samplesPerPixel, bytesPerSample);
      } catch (error) {
        return fail(`RLE Lossless (1.2.840.10008.1.2.5) pixel data is damaged: ${(error as Error).message}; copy the file again`);
      }
    } else {
      let decoded: DecodedFrame;
      try {
        decoded = await decodeCompressedFrame(ts.encoding, frame, bitsAllocated);
      } catch (error) {
        const why = error instanceof Error ? error.message : String(error);
        const hint =
          ts.encoding === 'jpeg-extended' && bitsStored > 8
            ? `${bitsStored}-bit JPEG Extended is not supported by the bundled JPEG decoder (8-bit only)`
            : `the decoder failed (${why})`;
        const tool =
          ts.encoding === 'jpeg-ls' ? 'dcmdjpls in.dcm out.dcm' : ts.encoding === 'jpeg2000' ? 'gdcmconv --raw in.dcm out.dcm' : 'dcmdjpeg in.dcm out.dcm';
        return fail(`pixel data in ${describeTransferSyntax(ts)} could not be decoded: ${hint}; decompress it first (e.g. \`${tool}\`) or export uncompressed from the PACS`);
      }
      if (decoded.width && (decoded.width !== columns || decoded.height !== rows))
        return fail(`the compressed image is ${decoded.width}×${decoded.height} but the header says ${columns}×${rows}; the file is inconsistent — re-export it`);
      const expectedBytes = sampleCount * decoded.bytesPerSample;
      if (decoded.bytes.length < expectedBytes)
        return fail(`the compressed image decoded to ${decoded.bytes.length} bytes, ${expectedBytes} expected; the file is damaged — copy it again`);
      sampleBytes = decoded.bytes;
      bytesPerSample = decoded.bytesPerSample;
      // A signed codestream's output is two's complement whatever the header
      // says. The reverse mismatch (unsigned stream, PixelRepresentation 1) is
      // common from some encoders; PixelRepresentation and BitsStored then
      // decide, as pydicom and GDCM do.
      if (decoded.signed === true) signed = true;
      // JPEG decoders hand back RGB whatever the header's YBR flavour.
      if (samplesPerPixel === 3 && photometric.startsWith('YBR')) photometric = 'RGB';
    }
  }

  // The modality LUT applies to grayscale only; readSamples applies it as it reads.
  const rescaleSlope = dataSet.floatString('x00281053') ?? 1;
  const rescaleIntercept = dataSet.floatString('x00281052') ?? 0;
  const rescale = samplesPerPixel === 1 ? ([rescaleSlope, rescaleIntercept] as const) : ([1, 0] as const);
  let values = readSamples(sampleBytes, sampleCount, bytesPerSample, signed, Math.min(bitsStored, bytesPerSample * 8), bigEndian, ...rescale);
  if (samplesPerPixel === 3 && planar && (ts.encoding === 'native')) values = planarToInterleaved(values, 3);
  if (samplesPerPixel === 3 && photometric === 'YBR_FULL') {
    ybrFullToRgb(values, 2 ** Math.min(bitsStored, bytesPerSample * 8) - 1);
    photometric = 'RGB';
  }

  const center = dataSet.floatString('x00281050');
  const width = dataSet.floatString('x00281051');
  const instanceNumber = dataSet.intString('x00200013');
  const identifiers: DicomIdentifiers = {};
  const patientId = optionalString(dataSet, 'x00100020');
  const studyInstanceUid = optionalString(dataSet, 'x0020000d');
  const seriesInstanceUid = optionalString(dataSet, 'x0020000e');
  const sopInstanceUid = optionalString(dataSet, 'x00080018');
  if (patientId !== undefined) identifiers.patientId = patientId;
  if (studyInstanceUid !== undefined) identifiers.studyInstanceUid = studyInstanceUid;
  if (seriesInstanceUid !== undefined) identifiers.seriesInstanceUid = seriesInstanceUid;
  if (sopInstanceUid !== undefined) identifiers.sopInstanceUid = sopInstanceUid;
  const modality = optionalString(dataSet, 'x00080060');

  return {
    fileName,
    rows,
    columns,
    samplesPerPixel,
    photometric,
    transferSyntaxUid: ts.uid,
    transferSyntaxName: ts.name,
    ...(modality === undefined ? {} : { modality }),
    values,
    numberOfFrames,
    bitsAllocated,
    bitsStored,
    pixelRepresentation,
    rescaleSlope,
    rescaleIntercept,
    ...(center !== undefined && width !== undefined && width > 0 ? { window: { center, width } } : {}),
    invert: photometric === 'MONOCHROME1',
    identifiers,
    ...(instanceNumber === undefined ? {} : { instanceNumber }),
  };
}
