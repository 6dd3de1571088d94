/**
 * Image similarity of a reconstruction to its original, both in [0, 1] (plain numbers, no TF.js).
 */

/** Mean squared error of two equally long arrays. */
export function mse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length || a.length === 0) throw new RangeError(`mse needs two non-empty arrays of one length (got ${a.length} and ${b.length})`);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i]! - b[i]!) ** 2;
  return s / a.length;
}

/** PSNR in dB for peak value `max` (1 for [0, 1] images): 10·log10(max²/MSE); Infinity when identical. */
export function psnr(a: ArrayLike<number>, b: ArrayLike<number>, max = 1): number {
  const e = mse(a, b);
  return e === 0 ? Number.POSITIVE_INFINITY : 10 * Math.log10((max * max) / e);
}

/** The normalised 1-D Gaussian of `size` taps and std `sigma` (the 2-D window is its outer product). */
export function gaussianWindow(size = 11, sigma = 1.5): Float64Array {
  const w = new Float64Array(size);
  const c = (size - 1) / 2;
  let s = 0;
  for (let i = 0; i < size; i++) s += w[i] = Math.exp(-((i - c) ** 2) / (2 * sigma * sigma));
  for (let i = 0; i < size; i++) w[i]! /= s;
  return w;
}

/** 'valid' separable filtering of a rows×cols image with the 1-D window w (in x, then in y). */
function filterValid(img: Float64Array, rows: number, cols: number, w: Float64Array): { values: Float64Array; rows: number; cols: number } {
  const k = w.length;
  const oc = cols - k + 1;
  const or = rows - k + 1;
  const tmp = new Float64Array(rows * oc);
  for (let r = 0; r < rows; r++)
    for (let c = 0; c < oc; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += w[i]! * img[r * cols + c + i]!;
      tmp[r * oc + c] = s;
    }
  const out = new Float64Array(or * oc);
  for (let r = 0; r < or; r++)
    for (let c = 0; c < oc; c++) {
      let s = 0;
      for (let i = 0; i < k; i++) s += w[i]! * tmp[(r + i) * oc + c]!;
      out[r * oc + c] = s;
    }
  return { values: out, rows: or, cols: oc };
}

export interface SsimOptions {
  /** Dynamic range L (1 for [0, 1] images). */
  range?: number;
  /** Gaussian window taps (default 11) and std (default 1.5). */
  windowSize?: number;
  sigma?: number;
}

/**
 * SSIM (Wang et al. 2004) of two single-channel rows×cols images: Gaussian window 11, σ 1.5,
 * C1 = (0.01·L)², C2 = (0.03·L)² (the 8-bit constants (0.01·255)², (0.03·255)² scaled to L = 1),
 * local statistics over the 'valid' window positions (the reference MATLAB code), mean of the map.
 * Interleaved channels: pass `channels` and the mean over channels is returned.
 */
export function ssim(a: ArrayLike<number>, b: ArrayLike<number>, rows: number, cols: number, channels = 1, options: SsimOptions = {}): number {
  const L = options.range ?? 1;
  const w = gaussianWindow(options.windowSize ?? 11, options.sigma ?? 1.5);
  if (a.length !== rows * cols * channels || b.length !== a.length) throw new RangeError(`ssim: expected ${rows}×${cols}×${channels} values (got ${a.length} and ${b.length})`);
  if (rows < w.length || cols < w.length) throw new RangeError(`ssim: images must be at least ${w.length}×${w.length} (got ${rows}×${cols})`);
  const c1 = (0.01 * L) ** 2;
  const c2 = (0.03 * L) ** 2;
  let total = 0;
  for (let ch = 0; ch < channels; ch++) {
    const x = new Float64Array(rows * cols);
    const y = new Float64Array(rows * cols);
    for (let i = 0; i < x.length; i++) {
      x[i] = a[i * channels + ch]!;
      y[i] = b[i * channels + ch]!;
    }
    const prod = (p: Float64Array, q: Float64Array) => p.map((v, i) => v * q[i]!);
    const mx = filterValid(x, rows, cols, w).values;
    const my = filterValid(y, rows, cols, w).values;
    const sxx = filterValid(prod(x, x), rows, cols, w).values;
    const syy = filterValid(prod(y, y), rows, cols, w).values;
    const sxy = filterValid(prod(x, y), rows, cols, w).values;
    let sum = 0;
    for (let i = 0; i < mx.length; i++) {
      const ux = mx[i]!;
      const uy = my[i]!;
      const vx = sxx[i]! - ux * ux;
      const vy = syy[i]! - uy * uy;
      const cxy = sxy[i]! - ux * uy;
      sum += ((2 * ux * uy + c1) * (2 * cxy + c2)) / ((ux * ux + uy * uy + c1) * (vx + vy + c2));
    }
    total += sum / mx.length;
  }
  return total / channels;
}

/**
 * The reconstruction with each image's mean and standard deviation set to the original's, clamped
 * to [0, 1]. Under the product's 'zscore' normalisation the model never sees a slice's brightness
 * or contrast, so no attack can recover them; the audit compares what the update does reveal.
 */
export function matchMoments(reconstruction: ArrayLike<number>, original: ArrayLike<number>): Float32Array {
  const stats = (v: ArrayLike<number>) => {
    let s = 0;
    for (let i = 0; i < v.length; i++) s += v[i]!;
    const mean = s / v.length;
    let q = 0;
    for (let i = 0; i < v.length; i++) q += (v[i]! - mean) ** 2;
    return { mean, sd: Math.sqrt(q / v.length) };
  };
  const r = stats(reconstruction);
  const o = stats(original);
  const out = new Float32Array(reconstruction.length);
  for (let i = 0; i < out.length; i++) {
    const z = r.sd > 0 ? (reconstruction[i]! - r.mean) / r.sd : 0;
    out[i] = Math.min(1, Math.max(0, o.mean + z * o.sd));
  }
  return out;
}
