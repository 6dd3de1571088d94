/**
 * numpy.fft.fftshift / ifftshift over both axes of a row-major rows×cols matrix.
 *
 * fftshift rolls each axis forward by floor(n/2), moving the zero frequency to index floor(n/2);
 * ifftshift rolls back by the same amount. For odd n the two differ, which is why both exist.
 */
function roll2d(src: Float64Array, rows: number, cols: number, rowShift: number, colShift: number): Float64Array {
  if (src.length !== rows * cols) throw new RangeError(`shift: expected ${rows * cols} values, got ${src.length}`);
  const out = new Float64Array(src.length);
  for (let r = 0; r < rows; r++) {
    const base = ((r + rowShift) % rows) * cols;
    for (let c = 0; c < cols; c++) out[base + ((c + colShift) % cols)] = src[r * cols + c]!;
  }
  return out;
}

export function fftshift2d(src: Float64Array, rows: number, cols: number): Float64Array {
  return roll2d(src, rows, cols, Math.floor(rows / 2), Math.floor(cols / 2));
}

export function ifftshift2d(src: Float64Array, rows: number, cols: number): Float64Array {
  // Rolling by −floor(n/2) is rolling by n − floor(n/2) = ceil(n/2).
  return roll2d(src, rows, cols, Math.ceil(rows / 2), Math.ceil(cols / 2));
}
