/**
 * Decoding real DICOM files (Debian's pydicom test corpus and dcmtk-made
 * variants) against pydicom + numpy as the independent reference. Every
 * value of the first frame is compared, after RescaleSlope/Intercept.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { decodeDicom, DataError, type DecodedSlice } from '../src/index';
import { corpusBytes, corpusFile, referencePixels, type Reference } from './corpus';

interface Case {
  /** What the case covers. */
  title: string;
  file: string;
  transferSyntax: string;
  /** File pydicom reads for the expectation (dcmtk-decompressed copy for codecs pydicom lacks here). */
  reference?: string;
  /** Largest allowed |ours − reference| per value (lossy codecs only). */
  tolerance?: number;
  check?: (slice: DecodedSlice) => void;
}

const CASES: Case[] = [
  { title: 'explicit VR little endian, 16-bit signed CT with RescaleIntercept -1024 (HU)', file: 'pydicom/CT_small.dcm', transferSyntax: '1.2.840.10008.1.2.1',
    check: (s) => { expect(s.modality).toBe('CT'); expect(s.rescaleIntercept).toBe(-1024); expect(s.pixelRepresentation).toBe(1); } },
  { title: 'explicit VR little endian MR', file: 'pydicom/MR_small.dcm', transferSyntax: '1.2.840.10008.1.2.1' },
  { title: 'implicit VR little endian', file: 'pydicom/MR_small_implicit.dcm', transferSyntax: '1.2.840.10008.1.2' },
  { title: 'explicit VR big endian', file: 'pydicom/MR_small_bigendian.dcm', transferSyntax: '1.2.840.10008.1.2.2' },
  { title: 'explicit VR big endian (second encoder)', file: 'pydicom/MR_small_expb.dcm', transferSyntax: '1.2.840.10008.1.2.2' },
  { title: 'explicit VR big endian with rescale', file: 'dcmtk/CT_bigendian.dcm', transferSyntax: '1.2.840.10008.1.2.2' },
  { title: 'explicit VR big endian, 8-bit RGB', file: 'pydicom/ExplVR_BigEnd.dcm', transferSyntax: '1.2.840.10008.1.2.2',
    check: (s) => expect(s.samplesPerPixel).toBe(3) },
  { title: 'no Part-10 meta header, explicit VR', file: 'dcmtk/CT_nometa_explicit.dcm', transferSyntax: '1.2.840.10008.1.2.1' },
  { title: 'no Part-10 meta header, implicit VR', file: 'dcmtk/CT_nometa_implicit.dcm', transferSyntax: '1.2.840.10008.1.2' },
  { title: '8-bit unsigned grayscale', file: 'dcmtk/gray8.dcm', transferSyntax: '1.2.840.10008.1.2.1',
    check: (s) => { expect(s.bitsAllocated).toBe(8); expect(s.pixelRepresentation).toBe(0); } },
  { title: '8-bit signed (PixelRepresentation 1)', file: 'dcmtk/gray8_signed.dcm', transferSyntax: '1.2.840.10008.1.2.1',
    check: (s) => expect(Math.min(...s.values)).toBeLessThan(0) },
  { title: '16-bit unsigned, 12 bits stored', file: 'dcmtk/NM_u12.dcm', transferSyntax: '1.2.840.10008.1.2.1',
    check: (s) => { expect(s.bitsStored).toBe(12); expect(s.pixelRepresentation).toBe(0); } },
  { title: '32-bit unsigned (RT dose grid)', file: 'pydicom/rtdose_1frame.dcm', transferSyntax: '1.2.840.10008.1.2' },
  { title: 'padded pixel data (longer than the image)', file: 'pydicom/MR_small_padded.dcm', transferSyntax: '1.2.840.10008.1.2.1' },
  { title: 'deflated explicit VR little endian', file: 'pydicom/image_dfl.dcm', transferSyntax: '1.2.840.10008.1.2.1.99' },
  { title: 'MONOCHROME1 keeps values, flags inversion', file: 'dcmtk/CT_monochrome1.dcm', transferSyntax: '1.2.840.10008.1.2.1',
    check: (s) => { expect(s.photometric).toBe('MONOCHROME1'); expect(s.invert).toBe(true); } },
  { title: 'RLE lossless, 16-bit signed MR', file: 'pydicom/MR_small_RLE.dcm', reference: 'reference/MR_small_RLE.dcm', transferSyntax: '1.2.840.10008.1.2.5' },
  { title: 'RLE lossless, CT with rescale (dcmtk encoder)', file: 'dcmtk/CT_rle.dcm', reference: 'reference/CT_rle.dcm', transferSyntax: '1.2.840.10008.1.2.5' },
  { title: 'RLE lossless, 8-bit RGB', file: 'pydicom/SC_rgb_rle.dcm', reference: 'reference/SC_rgb_rle.dcm', transferSyntax: '1.2.840.10008.1.2.5' },
  { title: 'RLE lossless, 16-bit RGB', file: 'pydicom/SC_rgb_rle_16bit.dcm', reference: 'reference/SC_rgb_rle_16bit.dcm', transferSyntax: '1.2.840.10008.1.2.5' },
  { title: 'RLE lossless, 32-bit', file: 'pydicom/rtdose_rle_1frame.dcm', reference: 'reference/rtdose_rle_1frame.dcm', transferSyntax: '1.2.840.10008.1.2.5' },
  { title: 'JPEG lossless SV1 (process 14), 16-bit signed CT', file: 'dcmtk/CT_jpeg_lossless_sv1.dcm', reference: 'reference/CT_jpeg_lossless_sv1.dcm', transferSyntax: '1.2.840.10008.1.2.4.70' },
  { title: 'JPEG lossless process 14, predictor 6', file: 'dcmtk/MR_jpeg_lossless_p14.dcm', reference: 'reference/MR_jpeg_lossless_p14.dcm', transferSyntax: '1.2.840.10008.1.2.4.57' },
  { title: 'JPEG lossless, 8-bit RGB (GDCM encoder)', file: 'pydicom/SC_rgb_jpeg_gdcm.dcm', reference: 'reference/SC_rgb_jpeg_gdcm.dcm', transferSyntax: '1.2.840.10008.1.2.4.70' },
  { title: 'JPEG baseline, 8-bit grayscale (lossy: libjpeg-turbo vs dcmtk IJG)', file: 'dcmtk/gray8_jpeg_baseline.dcm', reference: 'reference/gray8_jpeg_baseline.dcm', transferSyntax: '1.2.840.10008.1.2.4.50', tolerance: 2 },
  { title: 'JPEG-LS lossless (pydicom corpus)', file: 'pydicom/MR_small_jpeg_ls_lossless.dcm', reference: 'reference/MR_small_jpeg_ls_lossless.dcm', transferSyntax: '1.2.840.10008.1.2.4.80' },
  { title: 'JPEG-LS lossless, CT with rescale (dcmtk encoder)', file: 'dcmtk/CT_jpegls_lossless.dcm', reference: 'reference/CT_jpegls_lossless.dcm', transferSyntax: '1.2.840.10008.1.2.4.80' },
  { title: 'JPEG-LS near-lossless (both decoders must agree exactly)', file: 'dcmtk/NM_jpegls_near.dcm', reference: 'reference/NM_jpegls_near.dcm', transferSyntax: '1.2.840.10008.1.2.4.81' },
  { title: 'JPEG 2000 lossless', file: 'pydicom/MR_small_jp2klossless.dcm', transferSyntax: '1.2.840.10008.1.2.4.90' },
  { title: 'JPEG 2000 lossless, unsigned stream with PixelRepresentation 1, 13 bits stored', file: 'pydicom/J2K_pixelrep_mismatch.dcm', transferSyntax: '1.2.840.10008.1.2.4.90' },
  { title: 'JPEG 2000 (lossy syntax), NM', file: 'pydicom/JPEG2000.dcm', transferSyntax: '1.2.840.10008.1.2.4.91', tolerance: 1 },
  { title: 'JPEG 2000 lossy CT 512×512 with rescale', file: 'pydicom/693_J2KI.dcm', transferSyntax: '1.2.840.10008.1.2.4.91', tolerance: 1 },
];

let references: Map<string, Reference>;

beforeAll(() => {
  references = referencePixels(CASES.map((c) => corpusFile(c.reference ?? c.file)));
});

describe('decodeDicom on real files matches pydicom', () => {
  it.each(CASES)('$title ($file)', async (c) => {
    const slice = await decodeDicom(corpusBytes(c.file), c.file);
    const ref = references.get(corpusFile(c.reference ?? c.file));
    expect(ref?.ok, ref?.error).toBe(true);
    if (!ref) return;
    expect(slice.transferSyntaxUid).toBe(c.transferSyntax);
    expect([slice.rows, slice.columns, slice.samplesPerPixel]).toEqual([ref.rows, ref.cols, ref.samples]);
    expect(slice.values.length).toBe(ref.values.length);
    let worst = 0;
    for (let i = 0; i < ref.values.length; i++) worst = Math.max(worst, Math.abs((slice.values[i] ?? NaN) - (ref.values[i] ?? NaN)));
    expect(worst).toBeLessThanOrEqual(c.tolerance ?? 0);
    c.check?.(slice);
  });
});

describe('per-file errors name the problem and the fix', () => {
  const rejects = async (file: string): Promise<DataError> => {
    const error = await decodeDicom(corpusBytes(file), file).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DataError);
    return error as DataError;
  };

  it('RT plan: no pixel data', async () => {
    const e = await rejects('pydicom/rtplan.dcm');
    expect(e.fileName).toBe('pydicom/rtplan.dcm');
    expect(e.problem).toMatch(/no pixel data.*RT plan.*leave it out/);
  });
  it('structured reports: no pixel data', async () => {
    expect((await rejects('pydicom/test-SR.dcm')).problem).toMatch(/no pixel data.*structured report/);
    expect((await rejects('pydicom/reportsi.dcm')).problem).toMatch(/no pixel data.*structured report/);
  });
  it('RT plans without meta header, both byte orders, are parsed far enough to say what they are', async () => {
    expect((await rejects('pydicom/ExplVR_LitEndNoMeta.dcm')).problem).toMatch(/RT plan/);
    expect((await rejects('pydicom/ExplVR_BigEndNoMeta.dcm')).problem).toMatch(/RT plan/);
  });
  it('truncated pixel data', async () => {
    expect((await rejects('pydicom/MR_truncated.dcm')).problem).toMatch(/truncated.*copy it again/);
  });
  it('12-bit JPEG Extended: names the transfer syntax and a way out', async () => {
    const e = await rejects('pydicom/JPGExtended.dcm');
    expect(e.problem).toContain('1.2.840.10008.1.2.4.51');
    expect(e.problem).toMatch(/JPEG Extended.*dcmdjpeg/);
  });
  it('a file that is not DICOM at all', async () => {
    const error = await decodeDicom(new TextEncoder().encode('hello, this is a text file and not an image'), 'notes.dcm').catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).problem).toMatch(/not a DICOM file/);
  });
});
