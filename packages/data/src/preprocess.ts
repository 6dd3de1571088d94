/**
 * From a decoded slice to model input: grayscale, window, MONOCHROME1
 * inversion, letterbox to square, resize, then (at read time) normalise.
 */
import type { DecodedSlice } from './dicom/decode';
import type { DecodedPng } from './png';
import { WINDOW_PRESETS, type Window, type WindowPreset } from './window';

/**
 * Which window to apply to DICOM values:
 * - 'file': the file's WindowCenter/Width, falling back to 'auto';
 * - 'auto': the slice's own min..max;
 * - a preset name (e.g. 'ct-brain' = L40/W80) or explicit values.
 * PNG values are already display values and are used as they are.
 */
export type WindowChoice = 'file' | 'auto' | WindowPreset | Window;

/** A single-channel image in [0, 1] before resizing. */
export interface UnitImage {
  rows: number;
  columns: number;
  values: Float32Array;
}

/** ITU-R BT.601 luma: how colour secondary captures become one channel. */
function luminance(values: ArrayLike<number>, pixels: number): Float32Array {
  const out = new Float32Array(pixels);
  for (let p = 0; p < pixels; p++)
    out[p] = 0.299 * (values[p * 3] ?? 0) + 0.587 * (values[p * 3 + 1] ?? 0) + 0.114 * (values[p * 3 + 2] ?? 0);
  return out;
}

export function resolveWindow(choice: WindowChoice, slice: { window?: Window | undefined; values: ArrayLike<number> }): Window {
  if (typeof choice === 'object') return choice;
  if (choice !== 'file' && choice !== 'auto') return WINDOW_PRESETS[choice];
  if (choice === 'file' && slice.window) return slice.window;
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < slice.values.length; i++) {
    const v = slice.values[i] ?? 0;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  // A constant image gets a unit-wide window instead of a division by zero.
  return max > min ? { center: (min + max) / 2, width: max - min } : { center: min, width: 1 };
}

export function dicomToUnit(slice: DecodedSlice, choice: WindowChoice = 'file'): UnitImage {
  const pixels = slice.rows * slice.columns;
  const gray = slice.samplesPerPixel === 3 ? luminance(slice.values, pixels) : slice.values;
  const window = resolveWindow(choice, { window: slice.window, values: gray });
  const values = new Float32Array(pixels);
  // windowToUnit, inlined: this loop runs for every pixel of every imported slice.
  const lo = window.center - window.width / 2;
  const width = window.width;
  if (slice.invert)
    for (let i = 0; i < pixels; i++) {
      const t = ((gray[i] ?? 0) - lo) / width;
      values[i] = 1 - (t <= 0 ? 0 : t >= 1 ? 1 : t);
    }
  else
    for (let i = 0; i < pixels; i++) {
      const t = ((gray[i] ?? 0) - lo) / width;
      values[i] = t <= 0 ? 0 : t >= 1 ? 1 : t;
    }
  return { rows: slice.rows, columns: slice.columns, values };
}

export function pngToUnit(png: DecodedPng): UnitImage {
  const pixels = png.width * png.height;
  const values = png.channels === 3 ? luminance(png.values, pixels) : png.values;
  return { rows: png.height, columns: png.width, values };
}

/**
 * Resizes to size × size. Non-square images are letterboxed (centred, padded
 * with 0) so anatomy keeps its aspect ratio. Each output pixel averages the
 * source area it covers (box filter), which is plain bilinear-like sampling
 * when upscaling and anti-aliased when downscaling.
 */
export function resizeSquare(image: UnitImage, size: number, mode: 'area' | 'nearest' = 'area'): Float32Array {
  const { rows, columns, values } = image;
  const out = new Float32Array(size * size);
  const side = Math.max(rows, columns);
  const scale = side / size; // source pixels per output pixel
  const offsetX = (side - columns) / 2;
  const offsetY = (side - rows) / 2;
  const sample = (x: number, y: number): number => {
    const sx = Math.floor(x - offsetX);
    const sy = Math.floor(y - offsetY);
    return sx < 0 || sy < 0 || sx >= columns || sy >= rows ? 0 : (values[sy * columns + sx] ?? 0);
  };
  const factor = Math.round(scale);
  if (mode === 'area' && rows === columns && factor > 1 && Math.abs(scale - factor) < 1e-9) {
    // Integer downscale of a square image (e.g. 512→128): plain block average, the common case.
    const norm = 1 / (factor * factor);
    if (factor === 2) {
      // The same sums in the same order as the general loop below, unrolled.
      for (let y = 0; y < size; y++) {
        const r0 = 2 * y * columns;
        const r1 = r0 + columns;
        for (let x = 0; x < size; x++) {
          const c = 2 * x;
          out[y * size + x] = ((values[r0 + c] ?? 0) + (values[r0 + c + 1] ?? 0) + (values[r1 + c] ?? 0) + (values[r1 + c + 1] ?? 0)) * norm;
        }
      }
      return out;
    }
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) {
        let acc = 0;
        for (let dy = 0; dy < factor; dy++) {
          const rowStart = (y * factor + dy) * columns + x * factor;
          for (let dx = 0; dx < factor; dx++) acc += values[rowStart + dx] ?? 0;
        }
        out[y * size + x] = acc * norm;
      }
    return out;
  }
  if (mode === 'nearest' || scale <= 1) {
    for (let y = 0; y < size; y++)
      for (let x = 0; x < size; x++) out[y * size + x] = sample((x + 0.5) * scale, (y + 0.5) * scale);
    return out;
  }
  for (let y = 0; y < size; y++) {
    const y0 = y * scale;
    const y1 = y0 + scale;
    for (let x = 0; x < size; x++) {
      const x0 = x * scale;
      const x1 = x0 + scale;
      let acc = 0;
      let weight = 0;
      for (let sy = Math.floor(y0); sy < y1; sy++) {
        const wy = Math.min(sy + 1, y1) - Math.max(sy, y0);
        for (let sx = Math.floor(x0); sx < x1; sx++) {
          const w = wy * (Math.min(sx + 1, x1) - Math.max(sx, x0));
          acc += w * sample(sx, sy);
          weight += w;
        }
      }
      out[y * size + x] = weight > 0 ? acc / weight : 0;
    }
  }
  return out;
}

/** Binary mask from a decoded mask image: any non-zero sample is foreground; nearest-neighbour resize keeps it binary. */
export function maskToSquare(mask: UnitImage, size: number): Uint8Array {
  const resized = resizeSquare(mask, size, 'nearest');
  const out = new Uint8Array(size * size);
  for (let i = 0; i < out.length; i++) out[i] = (resized[i] ?? 0) > 0 ? 1 : 0;
  return out;
}

export type Normalization = 'unit' | 'zscore';

/** In place: 'unit' keeps the windowed [0, 1] values; 'zscore' gives each slice mean 0 and standard deviation 1. */
export function normalizeSlice(values: Float32Array, mode: Normalization): Float32Array {
  if (mode === 'unit') return values;
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += values[i] ?? 0;
  const mean = sum / values.length;
  let sq = 0;
  for (let i = 0; i < values.length; i++) sq += ((values[i] ?? 0) - mean) ** 2;
  const sd = Math.sqrt(sq / values.length) || 1;
  for (let i = 0; i < values.length; i++) values[i] = ((values[i] ?? 0) - mean) / sd;
  return values;
}

/** Stored form: [0, 1] quantised to 16 bits (half the space of float32, far finer than 8-bit display). */
export function quantize(values: Float32Array, out: Uint16Array = new Uint16Array(values.length), offset = 0): Uint16Array {
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    out[offset + i] = Math.round((v <= 0 ? 0 : v >= 1 ? 1 : v) * 65535);
  }
  return out;
}

export function dequantize(stored: Uint16Array, out: Float32Array = new Float32Array(stored.length)): Float32Array {
  for (let i = 0; i < stored.length; i++) out[i] = (stored[i] ?? 0) / 65535;
  return out;
}

/**
 * A stored slice as the model is given it: dequantised, then normalised. Training reads every
 * slice this way (SliceStore.readBatches); prediction must too.
 */
export function modelInput(stored: Uint16Array, normalization: Normalization, out: Float32Array = new Float32Array(stored.length)): Float32Array {
  return normalizeSlice(dequantize(stored, out), normalization);
}
