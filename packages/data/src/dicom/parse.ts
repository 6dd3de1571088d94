/**
 * Parsing goes through dicom-parser; this module only adapts it: module
 * interop, files without a Part-10 header, deflate without Node's zlib, and
 * turning its string exceptions into messages a clinician can act on.
 */
import * as dicomParserModule from 'dicom-parser';
import type { DataSet } from 'dicom-parser';
import { inflateSync } from 'fflate';
import {
  EXPLICIT_VR_BIG_ENDIAN,
  EXPLICIT_VR_LITTLE_ENDIAN,
  IMPLICIT_VR_LITTLE_ENDIAN,
} from './transfer-syntax';

// dicom-parser ships a UMD bundle: bundlers expose its functions as named
// exports, Node's ESM loader only as the CommonJS default.
type DicomParserApi = typeof dicomParserModule;
const dicomParser: DicomParserApi =
  (dicomParserModule as unknown as { default?: DicomParserApi }).default ?? dicomParserModule;

export type { DataSet, Element } from 'dicom-parser';
export const dicomParserApi = dicomParser;

export interface ParsedDicom {
  dataSet: DataSet;
  transferSyntaxUid: string;
  /** False for a bare dataset without preamble and meta header. */
  hasPart10Header: boolean;
}

/** Thrown by parseDicomFile with a user-facing message; the caller adds the file name. */
export class DicomParseProblem extends Error {
  constructor(
    message: string,
    /** Elements read before parsing stopped, when dicom-parser got that far. */
    readonly partial?: DataSet,
  ) {
    super(message);
  }
}

const VR_NAMES = new Set(
  'AE AS AT CS DA DS DT FD FL IS LO LT OB OD OF OL OV OW PN SH SL SQ SS ST SV TM UC UI UL UN UR US UT UV'.split(' '),
);

function hasPart10Prefix(bytes: Uint8Array): boolean {
  return bytes.length >= 132 && bytes[128] === 0x44 && bytes[129] === 0x49 && bytes[130] === 0x43 && bytes[131] === 0x4d;
}

/**
 * A dataset without Part-10 header has no declared transfer syntax, so infer
 * it from the first element: a VR name at bytes 4–5 means explicit VR, and a
 * group number whose low byte is zero while the high byte isn't (e.g. 00 08)
 * means big endian.
 */
function guessRawTransferSyntax(bytes: Uint8Array): string | null {
  if (bytes.length < 8) return null;
  const b0 = bytes[0] ?? 0;
  const b1 = bytes[1] ?? 0;
  const groupLe = b0 | (b1 << 8);
  const groupBe = (b0 << 8) | b1;
  const vr = String.fromCharCode(bytes[4] ?? 0, bytes[5] ?? 0);
  const explicit = VR_NAMES.has(vr);
  // Datasets start with a low group (0008 for identifying data, 0002 rarely).
  if (groupLe > 0 && groupLe <= 0x0010) return explicit ? EXPLICIT_VR_LITTLE_ENDIAN : IMPLICIT_VR_LITTLE_ENDIAN;
  if (explicit && groupBe > 0 && groupBe <= 0x0010) return EXPLICIT_VR_BIG_ENDIAN;
  return null;
}

function inflater(bytes: Uint8Array, position: number): Uint8Array {
  const inflated = inflateSync(bytes.subarray(position));
  const full = new Uint8Array(position + inflated.length);
  full.set(bytes.subarray(0, position));
  full.set(inflated, position);
  return full;
}

function describe(error: unknown): string {
  if (typeof error === 'string') return error;
  if (error instanceof Error) return error.message;
  const wrapped = (error as { exception?: unknown } | null)?.exception;
  return wrapped !== undefined ? describe(wrapped) : String(error);
}

export function parseDicomFile(bytes: Uint8Array): ParsedDicom {
  const hasPart10Header = hasPart10Prefix(bytes);
  let transferSyntaxUid: string | undefined;
  if (!hasPart10Header) {
    const guessed = guessRawTransferSyntax(bytes);
    if (!guessed)
      throw new DicomParseProblem(
        'not a DICOM file (no "DICM" marker at byte 128 and no recognisable dataset at the start); ' +
          'leave it out of the folder, or re-export it from the PACS as DICOM',
      );
    transferSyntaxUid = guessed;
  }
  let dataSet: DataSet;
  try {
    dataSet = dicomParser.parseDicom(bytes, transferSyntaxUid ? { TransferSyntaxUID: transferSyntaxUid, inflater } : { inflater });
  } catch (error) {
    const text = describe(error);
    const partial = (error as { dataSet?: DataSet } | null)?.dataSet;
    if (text.includes('0002,0010'))
      throw new DicomParseProblem(
        'the Part-10 meta header has no TransferSyntaxUID (0002,0010); re-export the file, or rewrite it with `dcmconv +te`',
      );
    if (/buffer overrun|past the end|beyond the end|end of buffer/i.test(text))
      throw new DicomParseProblem(`the file is truncated or damaged (dicom-parser: ${text}); copy it again from the PACS export`, partial);
    throw new DicomParseProblem(`could not be parsed as DICOM (dicom-parser: ${text}); check that it is an unmodified DICOM export`, partial);
  }
  const declared = dataSet.string('x00020010');
  return { dataSet, transferSyntaxUid: declared ?? transferSyntaxUid ?? IMPLICIT_VR_LITTLE_ENDIAN, hasPart10Header };
}
