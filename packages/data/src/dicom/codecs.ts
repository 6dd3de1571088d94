// eslint-disable-next-line @typescript-eslint/triple-slash-reference -- apps compile this source too and need the codec declarations
/// <reference path="../types/codecs.d.ts" />
/**
 * Compressed pixel data: maintained codec packages, loaded on first use so a
 * folder of uncompressed files never pays for them. The cornerstone codecs
 * are imported in their pure-JavaScript builds (no .wasm file to locate), so
 * the same import works in Node, in a bundled page and in a Web Worker.
 */
import type { PixelEncoding } from './transfer-syntax';

export interface DecodedFrame {
  /** Interleaved samples; 16-bit samples little endian. */
  bytes: Uint8Array;
  width: number;
  height: number;
  components: number;
  bytesPerSample: 1 | 2;
  /** Signedness as declared inside the compressed stream, when it says. */
  signed?: boolean;
}

type CodecName = 'JpegLSDecoder' | 'J2KDecoder' | 'JPEGDecoder';

// OpenJPEG prints progress ("[INFO] Tile 1/16 has been decoded") to stdout,
// which would corrupt inspect-dicom's JSON lines; failures surface as exceptions or empty output anyway.
const quiet = { print: () => {}, printErr: () => {} };
const loaders: Record<CodecName, () => Promise<new () => CornerstoneDecoder>> = {
  JpegLSDecoder: async () => (await (await import('@cornerstonejs/codec-charls/decode')).default(quiet)).JpegLSDecoder,
  J2KDecoder: async () => (await (await import('@cornerstonejs/codec-openjpeg/decode')).default(quiet)).J2KDecoder,
  JPEGDecoder: async () => (await (await import('@cornerstonejs/codec-libjpeg-turbo-8bit/decode')).default(quiet)).JPEGDecoder,
};
const loaded = new Map<CodecName, Promise<new () => CornerstoneDecoder>>();

function codec(name: CodecName): Promise<new () => CornerstoneDecoder> {
  let promise = loaded.get(name);
  if (!promise) {
    promise = loaders[name]();
    // A failed load (e.g. the bundle was not shipped) should be retried next file, not cached.
    promise.catch(() => loaded.delete(name));
    loaded.set(name, promise);
  }
  return promise;
}

async function decodeWithCornerstone(name: CodecName, data: Uint8Array): Promise<DecodedFrame> {
  const Decoder = await codec(name);
  const decoder = new Decoder();
  try {
    decoder.getEncodedBuffer(data.length).set(data);
    decoder.decode();
    const info = decoder.getFrameInfo();
    // The decoded buffer is a view on the codec's heap: copy before delete().
    const bytes = decoder.getDecodedBuffer().slice();
    if (bytes.length === 0 || info.width === 0) throw new Error('the codec produced no image (corrupt or unsupported stream)');
    return {
      bytes,
      width: info.width,
      height: info.height,
      components: info.componentCount,
      bytesPerSample: info.bitsPerSample > 8 ? 2 : 1,
      ...(info.isSigned === undefined ? {} : { signed: info.isSigned }),
    };
  } finally {
    decoder.delete();
  }
}

async function decodeJpegLossless(data: Uint8Array, bytesPerSample: 1 | 2): Promise<DecodedFrame> {
  const { Decoder } = await import('jpeg-lossless-decoder-js');
  const copy = data.slice(); // the decoder wants an ArrayBuffer of its own
  const out = new Decoder().decode(copy.buffer, 0, copy.byteLength, bytesPerSample);
  const bytes = new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
  // jpeg-lossless-decoder-js does not expose the frame header; DICOM's Rows/Columns are checked by the caller.
  return { bytes, width: 0, height: 0, components: 0, bytesPerSample };
}

/** Decodes one compressed frame; throws a plain Error with the codec's complaint. */
export function decodeCompressedFrame(encoding: PixelEncoding, data: Uint8Array, bitsAllocated: number): Promise<DecodedFrame> {
  switch (encoding) {
    case 'jpeg-baseline':
    case 'jpeg-extended':
      return decodeWithCornerstone('JPEGDecoder', data);
    case 'jpeg-lossless':
      return decodeJpegLossless(data, bitsAllocated > 8 ? 2 : 1);
    case 'jpeg-ls':
      return decodeWithCornerstone('JpegLSDecoder', data);
    case 'jpeg2000':
      return decodeWithCornerstone('J2KDecoder', data);
    default:
      return Promise.reject(new Error(`no codec for ${encoding}`));
  }
}
