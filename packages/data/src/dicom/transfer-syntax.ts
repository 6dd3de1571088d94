/** Transfer syntaxes we recognise, and how their pixel data is encoded. */

export type PixelEncoding =
  | 'native'
  | 'rle'
  | 'jpeg-baseline'
  | 'jpeg-extended'
  | 'jpeg-lossless'
  | 'jpeg-ls'
  | 'jpeg2000'
  | 'unsupported';

export interface TransferSyntaxInfo {
  uid: string;
  name: string;
  encoding: PixelEncoding;
  bigEndian: boolean;
}

export const IMPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2';
export const EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1';
export const EXPLICIT_VR_BIG_ENDIAN = '1.2.840.10008.1.2.2';
export const DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN = '1.2.840.10008.1.2.1.99';

const KNOWN: ReadonlyArray<[string, string, PixelEncoding]> = [
  [IMPLICIT_VR_LITTLE_ENDIAN, 'Implicit VR Little Endian', 'native'],
  [EXPLICIT_VR_LITTLE_ENDIAN, 'Explicit VR Little Endian', 'native'],
  [DEFLATED_EXPLICIT_VR_LITTLE_ENDIAN, 'Deflated Explicit VR Little Endian', 'native'],
  [EXPLICIT_VR_BIG_ENDIAN, 'Explicit VR Big Endian', 'native'],
  ['1.2.840.10008.1.2.5', 'RLE Lossless', 'rle'],
  ['1.2.840.10008.1.2.4.50', 'JPEG Baseline (Process 1)', 'jpeg-baseline'],
  ['1.2.840.10008.1.2.4.51', 'JPEG Extended (Process 2 & 4)', 'jpeg-extended'],
  ['1.2.840.10008.1.2.4.57', 'JPEG Lossless, Non-Hierarchical (Process 14)', 'jpeg-lossless'],
  ['1.2.840.10008.1.2.4.70', 'JPEG Lossless, First-Order Prediction (Process 14, SV1)', 'jpeg-lossless'],
  ['1.2.840.10008.1.2.4.80', 'JPEG-LS Lossless', 'jpeg-ls'],
  ['1.2.840.10008.1.2.4.81', 'JPEG-LS Near-Lossless', 'jpeg-ls'],
  ['1.2.840.10008.1.2.4.90', 'JPEG 2000 Lossless', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.91', 'JPEG 2000', 'jpeg2000'],
  ['1.2.840.10008.1.2.4.100', 'MPEG2 Main Profile', 'unsupported'],
  ['1.2.840.10008.1.2.4.101', 'MPEG2 High Profile', 'unsupported'],
  ['1.2.840.10008.1.2.4.102', 'MPEG-4 AVC/H.264', 'unsupported'],
  ['1.2.840.10008.1.2.4.103', 'MPEG-4 AVC/H.264 BD-compatible', 'unsupported'],
  ['1.2.840.10008.1.2.4.201', 'High-Throughput JPEG 2000 Lossless', 'unsupported'],
  ['1.2.840.10008.1.2.4.202', 'High-Throughput JPEG 2000 (RPCL) Lossless', 'unsupported'],
  ['1.2.840.10008.1.2.4.203', 'High-Throughput JPEG 2000', 'unsupported'],
];

const TABLE = new Map<string, TransferSyntaxInfo>(
  KNOWN.map(([uid, name, encoding]) => [uid, { uid, name, encoding, bigEndian: uid === EXPLICIT_VR_BIG_ENDIAN }]),
);

export function transferSyntaxInfo(uid: string): TransferSyntaxInfo {
  return TABLE.get(uid) ?? { uid, name: `unknown transfer syntax ${uid}`, encoding: 'unsupported', bigEndian: false };
}

/** "JPEG-LS Lossless (1.2.840.10008.1.2.4.80)" — how errors name a syntax. */
export function describeTransferSyntax(info: TransferSyntaxInfo): string {
  return info.name.startsWith('unknown') ? info.name : `${info.name} (${info.uid})`;
}
