import { fft, ifft } from './fft1d';

/**
 * 2-D DFT of a row-major rows×cols complex matrix, in place: 1-D transforms along every row, then along
 * every column (numpy.fft.fft2 / ifft2 over both axes, same scaling).
 */
function transform2d(
  re: Float64Array,
  im: Float64Array,
  rows: number,
  cols: number,
  oneD: (re: Float64Array, im: Float64Array) => void,
): void {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 1 || cols < 1) {
    throw new RangeError(`fft2: bad matrix size ${rows}×${cols}`);
  }
  if (re.length !== rows * cols || im.length !== rows * cols) {
    throw new RangeError(`fft2: expected ${rows * cols} values, got re ${re.length}, im ${im.length}`);
  }
  for (let r = 0; r < rows; r++) {
    // subarray views share memory, so rows transform without copying.
    oneD(re.subarray(r * cols, (r + 1) * cols), im.subarray(r * cols, (r + 1) * cols));
  }
  const colRe = new Float64Array(rows);
  const colIm = new Float64Array(rows);
  for (let c = 0; c < cols; c++) {
    for (let r = 0; r < rows; r++) {
      colRe[r] = re[r * cols + c]!;
      colIm[r] = im[r * cols + c]!;
    }
    oneD(colRe, colIm);
    for (let r = 0; r < rows; r++) {
      re[r * cols + c] = colRe[r]!;
      im[r * cols + c] = colIm[r]!;
    }
  }
}

/** Forward 2-D DFT in place, unnormalised. */
export function fft2(re: Float64Array, im: Float64Array, rows: number, cols: number): void {
  transform2d(re, im, rows, cols, fft);
}

/** Inverse 2-D DFT in place, scaled by 1/(rows·cols). */
export function ifft2(re: Float64Array, im: Float64Array, rows: number, cols: number): void {
  transform2d(re, im, rows, cols, ifft);
}
