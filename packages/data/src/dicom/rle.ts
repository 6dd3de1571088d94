/**
 * DICOM RLE Lossless (PS3.5 Annex G) codec. The DICOM libraries we may use
 * parse RLE-encapsulated files but do not decompress them, and the format is
 * only PackBits segments plus a 64-byte header, so it is done here.
 *
 * Output: interleaved samples, each sample little endian, bytesPerSample wide.
 */
export function decodeRleFrame(
  frame: Uint8Array,
  rows: number,
  columns: number,
  samplesPerPixel: number,
  bytesPerSample: number,
): Uint8Array {
  if (frame.length < 64) throw new Error(`RLE frame is ${frame.length} bytes, shorter than its 64-byte header`);
  const view = new DataView(frame.buffer, frame.byteOffset, frame.byteLength);
  const segmentCount = view.getUint32(0, true);
  const expected = samplesPerPixel * bytesPerSample;
  if (segmentCount !== expected)
    throw new Error(`RLE header lists ${segmentCount} segments; ${samplesPerPixel} samples × ${bytesPerSample} bytes need ${expected}`);
  const pixels = rows * columns;
  const out = new Uint8Array(pixels * expected);
  for (let segment = 0; segment < segmentCount; segment++) {
    const start = view.getUint32(4 + segment * 4, true);
    const end = segment + 1 < segmentCount ? view.getUint32(8 + segment * 4, true) : frame.length;
    if (start < 64 || end > frame.length || start > end) throw new Error(`RLE segment ${segment + 1} offsets are out of range`);
    // Segments hold the most significant byte first; sample s byte b goes to
    // little-endian position (bytesPerSample - 1 - b) within its sample.
    const sample = Math.floor(segment / bytesPerSample);
    const byteInSample = bytesPerSample - 1 - (segment % bytesPerSample);
    const stride = expected;
    let outIndex = sample * bytesPerSample + byteInSample;
    let written = 0;
    let pos = start;
    while (pos < end && written < pixels) {
      const control = frame[pos++] ?? 0;
      const n = control > 127 ? control - 256 : control;
      if (n >= 0) {
        for (let i = 0; i <= n && written < pixels && pos < end; i++, written++, outIndex += stride) out[outIndex] = frame[pos++] ?? 0;
      } else if (n > -128) {
        const value = frame[pos++] ?? 0;
        for (let i = 0; i < 1 - n && written < pixels; i++, written++, outIndex += stride) out[outIndex] = value;
      }
      // n === -128 is a no-op by definition.
    }
    if (written < pixels) throw new Error(`RLE segment ${segment + 1} holds ${written} of ${pixels} pixels (data truncated)`);
  }
  return out;
}
