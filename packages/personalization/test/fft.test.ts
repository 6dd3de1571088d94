import { describe, expect, it } from 'vitest';
import { fft, fft2, fftshift2d, ifft, ifft2, ifftshift2d } from '../src/index';
import { randomArray, seededRandom } from './random';

/** O(n²) reference; (j·k mod n) keeps the twiddle angles exact. */
function naiveDft(re: Float64Array, im: Float64Array, sign: -1 | 1): [Float64Array, Float64Array] {
  const n = re.length;
  const outRe = new Float64Array(n);
  const outIm = new Float64Array(n);
  for (let j = 0; j < n; j++) {
    for (let k = 0; k < n; k++) {
      const angle = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      outRe[j] = outRe[j]! + re[k]! * c - im[k]! * s;
      outIm[j] = outIm[j]! + re[k]! * s + im[k]! * c;
    }
  }
  return [outRe, outIm];
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// Stockham with radices 4/2 only (1, 2, 64, 256), with 3, 5 and 7 (3, 5, 7, 12, 96, 210, 384), and Bluestein
// for everything with a prime factor above 7 (13, 31, 97, 143 = 11·13, 194 = 2·97).
const SIZES = [1, 2, 3, 5, 7, 12, 13, 31, 64, 96, 97, 143, 194, 210, 256, 384];

describe('1-D FFT', () => {
  const rand = seededRandom(7);
  it.each(SIZES)('matches a naive DFT for n = %i, forward and inverse', (n) => {
    const re = randomArray(n, rand);
    const im = randomArray(n, rand);
    const [refRe, refIm] = naiveDft(re, im, -1);
    const outRe = re.slice();
    const outIm = im.slice();
    fft(outRe, outIm);
    // Values are O(1); sums of n terms carry O(n·eps) rounding in the naive reference itself.
    const tol = 1e-13 * n + 1e-14;
    expect(maxAbsDiff(outRe, refRe)).toBeLessThan(tol);
    expect(maxAbsDiff(outIm, refIm)).toBeLessThan(tol);

    const [invRe, invIm] = naiveDft(re, im, 1);
    const backRe = re.slice();
    const backIm = im.slice();
    ifft(backRe, backIm);
    expect(maxAbsDiff(backRe, invRe.map((v) => v / n))).toBeLessThan(tol);
    expect(maxAbsDiff(backIm, invIm.map((v) => v / n))).toBeLessThan(tol);
  });

  it.each([1, 13, 97, 768, 1000, 1031])('round-trips ifft(fft(x)) = x for n = %i', (n) => {
    const re = randomArray(n, rand);
    const im = randomArray(n, rand);
    const r = re.slice();
    const i = im.slice();
    fft(r, i);
    ifft(r, i);
    expect(maxAbsDiff(r, re)).toBeLessThan(1e-13);
    expect(maxAbsDiff(i, im)).toBeLessThan(1e-13);
  });

  it('rejects mismatched and empty inputs', () => {
    expect(() => fft(new Float64Array(3), new Float64Array(4))).toThrow(RangeError);
    expect(() => ifft(new Float64Array(0), new Float64Array(0))).toThrow(RangeError);
  });
});

describe('2-D FFT', () => {
  const rand = seededRandom(11);

  function naiveDft2(re: Float64Array, rows: number, cols: number): [Float64Array, Float64Array] {
    const outRe = new Float64Array(rows * cols);
    const outIm = new Float64Array(rows * cols);
    for (let u = 0; u < rows; u++) {
      for (let v = 0; v < cols; v++) {
        for (let r = 0; r < rows; r++) {
          for (let c = 0; c < cols; c++) {
            const angle = -2 * Math.PI * (((u * r) % rows) / rows + ((v * c) % cols) / cols);
            outRe[u * cols + v] = outRe[u * cols + v]! + re[r * cols + c]! * Math.cos(angle);
            outIm[u * cols + v] = outIm[u * cols + v]! + re[r * cols + c]! * Math.sin(angle);
          }
        }
      }
    }
    return [outRe, outIm];
  }

  it.each([
    [1, 5],
    [3, 4],
    [9, 13],
    [6, 7],
  ])('fft2 of a real %i×%i matrix matches a naive 2-D DFT, and ifft2 inverts it', (rows, cols) => {
    const x = randomArray(rows * cols, rand);
    const [refRe, refIm] = naiveDft2(x, rows, cols);
    const re = x.slice();
    const im = new Float64Array(rows * cols);
    fft2(re, im, rows, cols);
    expect(maxAbsDiff(re, refRe)).toBeLessThan(1e-12);
    expect(maxAbsDiff(im, refIm)).toBeLessThan(1e-12);
    ifft2(re, im, rows, cols);
    expect(maxAbsDiff(re, x)).toBeLessThan(1e-14);
    expect(maxAbsDiff(im, new Float64Array(rows * cols))).toBeLessThan(1e-14);
  });

  it('rejects a size that does not match the data', () => {
    expect(() => fft2(new Float64Array(6), new Float64Array(6), 2, 4)).toThrow(RangeError);
  });
});

describe('fftshift / ifftshift', () => {
  /** Frequencies in numpy.fft.fftfreq order: 0, 1, …, then the negative ones. */
  const fftfreq = (n: number) => Array.from({ length: n }, (_, k) => (k < Math.ceil(n / 2) ? k : k - n));

  it.each([
    [4, 5],
    [5, 4],
    [1, 6],
    [7, 3],
  ])('moves the zero frequency of a %i×%i grid to the centre (numpy convention)', (rows, cols) => {
    const fr = fftfreq(rows);
    const fc = fftfreq(cols);
    // Encode (row frequency, column frequency) in one number to follow both axes at once.
    const grid = Float64Array.from({ length: rows * cols }, (_, i) => 100 * fr[Math.floor(i / cols)]! + fc[i % cols]!);
    const shifted = fftshift2d(grid, rows, cols);
    // After the shift both axes run in ascending order, zero at index floor(n/2).
    const expected = Float64Array.from(
      { length: rows * cols },
      (_, i) => 100 * (Math.floor(i / cols) - Math.floor(rows / 2)) + ((i % cols) - Math.floor(cols / 2)),
    );
    expect(Array.from(shifted)).toEqual(Array.from(expected));
    expect(Array.from(ifftshift2d(shifted, rows, cols))).toEqual(Array.from(grid));
  });

  it('differs from fftshift for odd sizes, as in numpy', () => {
    const x = Float64Array.from([0, 1, 2, 3, 4]);
    expect(Array.from(fftshift2d(x, 1, 5))).toEqual([3, 4, 0, 1, 2]);
    expect(Array.from(ifftshift2d(x, 1, 5))).toEqual([2, 3, 4, 0, 1]);
  });
});
