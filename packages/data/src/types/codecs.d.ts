// Codec packages ship no type declarations; these cover what we call.

declare module 'jpeg-lossless-decoder-js' {
  export class Decoder {
    constructor();
    /** numBytes: bytes per sample of the output (1 or 2). */
    decode(buffer: ArrayBuffer, offset: number, length: number, numBytes?: number): Uint8Array | Uint16Array;
  }
}

/** Shared shape of the cornerstone emscripten decoders (CharLS, OpenJPEG, libjpeg-turbo). */
interface CornerstoneFrameInfo {
  width: number;
  height: number;
  bitsPerSample: number;
  componentCount: number;
  isSigned?: boolean;
}
interface CornerstoneDecoder {
  getEncodedBuffer(length: number): Uint8Array;
  decode(): void;
  getFrameInfo(): CornerstoneFrameInfo;
  getDecodedBuffer(): Uint8Array;
  delete(): void;
}
/** Emscripten module options; print/printErr receive the C library's log lines. */
interface EmscriptenModuleOptions {
  print?: (text: string) => void;
  printErr?: (text: string) => void;
}
type CornerstoneDecoderFactory<K extends string> = (options?: EmscriptenModuleOptions) => Promise<Record<K, new () => CornerstoneDecoder>>;

declare module '@cornerstonejs/codec-charls/decode' {
  const factory: CornerstoneDecoderFactory<'JpegLSDecoder'>;
  export default factory;
}
declare module '@cornerstonejs/codec-openjpeg/decode' {
  const factory: CornerstoneDecoderFactory<'J2KDecoder'>;
  export default factory;
}
declare module '@cornerstonejs/codec-libjpeg-turbo-8bit/decode' {
  const factory: CornerstoneDecoderFactory<'JPEGDecoder'>;
  export default factory;
}
