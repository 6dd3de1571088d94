import { fft2, ifft2 } from '../fft/fft2d';
import { fftshift2d, ifftshift2d } from '../fft/shift';
import { lowFrequencyWindow } from './window';

/**
 * The core of PFA (`avg_freq`, server.py L17–69) on K real rows×cols matrices, one per client.
 *
 * Each client's amplitude spectrum gets its centred low-frequency window replaced by the sum of all
 * clients' amplitudes divided by `divisor`; the client keeps its own phase and its own amplitude outside
 * the window. The window breaks Hermitian symmetry, so, as in the seed, only the real part of the inverse
 * transform is kept. Returns one float64 matrix per client.
 */
export function averageLowFrequencyAmplitude(
  matrices: readonly Float64Array[],
  rows: number,
  cols: number,
  threshold: number,
  divisor: number,
): Float64Array[] {
  if (matrices.length === 0) throw new RangeError('averageLowFrequencyAmplitude: no clients');
  if (!(divisor > 0 && Number.isFinite(divisor))) throw new RangeError(`divisor must be positive, got ${divisor}`);
  const size = rows * cols;
  const win = lowFrequencyWindow(rows, cols, threshold);

  const amplitudes: Float64Array[] = [];
  const phases: Float64Array[] = [];
  const sharedAmplitude = new Float64Array(size);
  for (const matrix of matrices) {
    if (matrix.length !== size) throw new RangeError(`expected ${size} values per client, got ${matrix.length}`);
    const re = Float64Array.from(matrix);
    const im = new Float64Array(size);
    fft2(re, im, rows, cols);
    const amp = new Float64Array(size);
    const pha = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      amp[i] = Math.hypot(re[i]!, im[i]!); // numpy.abs uses hypot
      pha[i] = Math.atan2(im[i]!, re[i]!); // numpy.angle
    }
    amplitudes.push(amp);
    phases.push(pha);
    const shifted = fftshift2d(amp, rows, cols);
    for (let i = 0; i < size; i++) sharedAmplitude[i] = sharedAmplitude[i]! + shifted[i]!;
  }
  for (let i = 0; i < size; i++) sharedAmplitude[i] = sharedAmplitude[i]! / divisor;

  return amplitudes.map((amp, k) => {
    const shifted = fftshift2d(amp, rows, cols);
    for (let r = win.rowStart; r < win.rowEnd; r++) {
      for (let c = win.colStart; c < win.colEnd; c++) shifted[r * cols + c] = sharedAmplitude[r * cols + c]!;
    }
    const mixed = ifftshift2d(shifted, rows, cols);
    const pha = phases[k]!;
    const re = new Float64Array(size);
    const im = new Float64Array(size);
    for (let i = 0; i < size; i++) {
      re[i] = mixed[i]! * Math.cos(pha[i]!);
      im[i] = mixed[i]! * Math.sin(pha[i]!);
    }
    ifft2(re, im, rows, cols);
    return re;
  });
}
