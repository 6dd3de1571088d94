/**
 * Complex 1-D discrete Fourier transform in float64, for any length.
 *
 * Data is split into real and imaginary Float64Arrays and transformed in place. Conventions follow numpy:
 * the forward transform is X_j = Σ_k x_k·e^(−2πi·jk/n) with no scaling, the inverse carries the 1/n.
 * Two algorithms, both O(n log n):
 * - lengths whose prime factors are all ≤ 7 (powers of two, and every PFA matrix side of the spec's VGG:
 *   9, 96, 192, 384, 768 = 2^a·3^b): mixed-radix Stockham autosort with radices 4, 2, 3, 5, 7;
 * - anything else (primes, 2·97, …): Bluestein's chirp-z algorithm on a power-of-two transform.
 */

interface FftPlan {
  /** Unscaled forward transform, in place. */
  forward(re: Float64Array, im: Float64Array): void;
}

// Plans hold twiddle tables; a model has only a handful of distinct axis lengths, so caching by length pays off.
const plans = new Map<number, FftPlan>();

function planFor(n: number): FftPlan {
  let plan = plans.get(n);
  if (!plan) {
    const factors = smallFactors(n);
    plan = factors ? stockhamPlan(n, factors) : bluesteinPlan(n);
    plans.set(n, plan);
  }
  return plan;
}

/**
 * n as a product of radices, or null if a prime above 7 divides n. As many 4s as possible (fewer, cheaper
 * stages), and they go last: a stage's per-j overhead grows with the radices before it, so the rarer
 * radices run first, where there are few j and long contiguous runs of k.
 */
function smallFactors(n: number): number[] | null {
  const fours: number[] = [];
  const others: number[] = [];
  let rest = n;
  for (const p of [4, 2, 3, 5, 7]) {
    while (rest % p === 0) {
      (p === 4 ? fours : others).push(p);
      rest /= p;
    }
  }
  return rest === 1 ? [...others, ...fours] : null;
}

function checkArgs(re: Float64Array, im: Float64Array): void {
  if (re.length !== im.length) throw new RangeError(`fft: re and im lengths differ (${re.length} vs ${im.length})`);
  if (re.length === 0) throw new RangeError('fft: empty input');
}

/** Forward DFT in place (unnormalised, like numpy.fft.fft). */
export function fft(re: Float64Array, im: Float64Array): void {
  checkArgs(re, im);
  planFor(re.length).forward(re, im);
}

/** Inverse DFT in place, scaled by 1/n (like numpy.fft.ifft). */
export function ifft(re: Float64Array, im: Float64Array): void {
  checkArgs(re, im);
  const n = re.length;
  // ifft(x) = conj(fft(conj(x)))/n: one forward code path serves both directions.
  for (let k = 0; k < n; k++) im[k] = -im[k]!;
  planFor(n).forward(re, im);
  const scale = 1 / n;
  for (let k = 0; k < n; k++) {
    re[k] = re[k]! * scale;
    im[k] = -im[k]! * scale;
  }
}

/**
 * Stockham autosort (no bit reversal; ping-pong between the data and a scratch buffer). With L* the
 * product of the radices done so far, L = L*·p and r = n/L, a radix-p stage maps
 *   y[(j + s·L*)·r + k] = Σ_q (x[(j·p + q)·r + k]·W_L^(j·q))·W_p^(q·s)   for j < L*, k < r, s < p,
 * so after the last stage (r = 1) y is the DFT in natural order. Twiddles depend on j only, and the inner
 * loop runs over contiguous k.
 */
function stockhamPlan(n: number, factors: readonly number[]): FftPlan {
  const tw: Twiddles = { cos: new Float64Array(n), sin: new Float64Array(n) };
  for (let k = 0; k < n; k++) {
    // Each twiddle computed directly (not by recurrence) keeps its error at one rounding.
    tw.cos[k] = Math.cos((2 * Math.PI * k) / n);
    tw.sin[k] = -Math.sin((2 * Math.PI * k) / n); // e^(−2πi·k/n): forward sign
  }
  const scratch: Complex = { re: new Float64Array(n), im: new Float64Array(n) };
  return {
    forward(re, im) {
      let x: Complex = { re, im };
      let y = scratch;
      let lStar = 1;
      for (const p of factors) {
        const stage = { lStar, r: n / (lStar * p), step: n / (lStar * p) };
        if (p === 4) radix4(x, y, stage, tw);
        else if (p === 2) radix2(x, y, stage, tw);
        else if (p === 3) radix3(x, y, stage, tw);
        else radixOdd(p, x, y, stage, tw, n);
        [x, y] = [y, x];
        lStar *= p;
      }
      if (x.re !== re) {
        re.set(x.re);
        im.set(x.im);
      }
    },
  };
}

interface Complex {
  re: Float64Array;
  im: Float64Array;
}
/** e^(−2πi·k/n) for k < n. */
interface Twiddles {
  cos: Float64Array;
  sin: Float64Array;
}
/** One Stockham stage: L* radices done, r = n/(L*·p) sub-transforms left, twiddle W_L^e = table[e·step]. */
interface Stage {
  lStar: number;
  r: number;
  step: number;
}

function radix2({ re: xr, im: xi }: Complex, { re: yr, im: yi }: Complex, { lStar, r, step }: Stage, tw: Twiddles) {
  const out = lStar * r;
  for (let j = 0; j < lStar; j++) {
    const c1 = tw.cos[j * step]!, s1 = tw.sin[j * step]!;
    for (let k = 0; k < r; k++) {
      const i = 2 * j * r + k;
      const o = j * r + k;
      const ar = xr[i]!, ai = xi[i]!;
      const br = xr[i + r]! * c1 - xi[i + r]! * s1, bi = xr[i + r]! * s1 + xi[i + r]! * c1;
      yr[o] = ar + br;
      yi[o] = ai + bi;
      yr[o + out] = ar - br;
      yi[o + out] = ai - bi;
    }
  }
}

function radix4({ re: xr, im: xi }: Complex, { re: yr, im: yi }: Complex, { lStar, r, step }: Stage, tw: Twiddles) {
  const out = lStar * r;
  for (let j = 0; j < lStar; j++) {
    const c1 = tw.cos[j * step]!, s1 = tw.sin[j * step]!;
    const c2 = tw.cos[2 * j * step]!, s2 = tw.sin[2 * j * step]!;
    const c3 = tw.cos[3 * j * step]!, s3 = tw.sin[3 * j * step]!;
    for (let k = 0; k < r; k++) {
      const i0 = 4 * j * r + k, i1 = i0 + r, i2 = i1 + r, i3 = i2 + r;
      const t0r = xr[i0]!, t0i = xi[i0]!;
      const t1r = xr[i1]! * c1 - xi[i1]! * s1, t1i = xr[i1]! * s1 + xi[i1]! * c1;
      const t2r = xr[i2]! * c2 - xi[i2]! * s2, t2i = xr[i2]! * s2 + xi[i2]! * c2;
      const t3r = xr[i3]! * c3 - xi[i3]! * s3, t3i = xr[i3]! * s3 + xi[i3]! * c3;
      // W_4 = −i: the 4-point DFT itself needs no multiplications.
      const ar = t0r + t2r, ai = t0i + t2i, br = t0r - t2r, bi = t0i - t2i;
      const cr = t1r + t3r, ci = t1i + t3i, dr = t1r - t3r, di = t1i - t3i;
      const o = j * r + k;
      yr[o] = ar + cr;
      yi[o] = ai + ci;
      yr[o + out] = br + di; // b − i·d
      yi[o + out] = bi - dr;
      yr[o + 2 * out] = ar - cr;
      yi[o + 2 * out] = ai - ci;
      yr[o + 3 * out] = br - di; // b + i·d
      yi[o + 3 * out] = bi + dr;
    }
  }
}

const SQRT3_2 = Math.sqrt(3) / 2;

function radix3({ re: xr, im: xi }: Complex, { re: yr, im: yi }: Complex, { lStar, r, step }: Stage, tw: Twiddles) {
  const out = lStar * r;
  for (let j = 0; j < lStar; j++) {
    const c1 = tw.cos[j * step]!, s1 = tw.sin[j * step]!;
    const c2 = tw.cos[2 * j * step]!, s2 = tw.sin[2 * j * step]!;
    for (let k = 0; k < r; k++) {
      const i0 = 3 * j * r + k, i1 = i0 + r, i2 = i1 + r;
      const t0r = xr[i0]!, t0i = xi[i0]!;
      const t1r = xr[i1]! * c1 - xi[i1]! * s1, t1i = xr[i1]! * s1 + xi[i1]! * c1;
      const t2r = xr[i2]! * c2 - xi[i2]! * s2, t2i = xr[i2]! * s2 + xi[i2]! * c2;
      // W_3 = −1/2 − i·√3/2: X_1,2 = t0 − (t1+t2)/2 ∓ i·(√3/2)(t1 − t2).
      const sr = t1r + t2r, si = t1i + t2i;
      const dr = SQRT3_2 * (t1r - t2r), di = SQRT3_2 * (t1i - t2i);
      const mr = t0r - sr / 2, mi = t0i - si / 2;
      const o = j * r + k;
      yr[o] = t0r + sr;
      yi[o] = t0i + si;
      yr[o + out] = mr + di;
      yi[o + out] = mi - dr;
      yr[o + 2 * out] = mr - di;
      yi[o + 2 * out] = mi + dr;
    }
  }
}

/** Radix 5 or 7: twiddle, then a direct p-point DFT with W_p^(q·s) = table[(q·s mod p)·n/p]. */
function radixOdd(p: number, x: Complex, y: Complex, { lStar, r, step }: Stage, tw: Twiddles, n: number) {
  const out = lStar * r;
  const tr = new Float64Array(p);
  const ti = new Float64Array(p);
  for (let j = 0; j < lStar; j++) {
    for (let k = 0; k < r; k++) {
      for (let q = 0; q < p; q++) {
        const i = (j * p + q) * r + k;
        const w = j * q * step; // < n
        tr[q] = x.re[i]! * tw.cos[w]! - x.im[i]! * tw.sin[w]!;
        ti[q] = x.re[i]! * tw.sin[w]! + x.im[i]! * tw.cos[w]!;
      }
      for (let s = 0; s < p; s++) {
        let accR = 0;
        let accI = 0;
        for (let q = 0; q < p; q++) {
          const w = ((q * s) % p) * (n / p);
          accR += tr[q]! * tw.cos[w]! - ti[q]! * tw.sin[w]!;
          accI += tr[q]! * tw.sin[w]! + ti[q]! * tw.cos[w]!;
        }
        y.re[j * r + k + s * out] = accR;
        y.im[j * r + k + s * out] = accI;
      }
    }
  }
}

/**
 * Bluestein: with jk = (j² + k² − (j−k)²)/2, the DFT becomes a convolution of x_k·w_k with conj(w) where
 * w_k = e^(−πi·k²/n); the convolution is done circularly at a power-of-two length m ≥ 2n−1.
 */
function bluesteinPlan(n: number): FftPlan {
  let m = 1;
  while (m < 2 * n - 1) m <<= 1;
  const inner = stockhamPlan(m, smallFactors(m)!);
  const wRe = new Float64Array(n);
  const wIm = new Float64Array(n);
  for (let k = 0; k < n; k++) {
    // k² mod 2n keeps the angle small and exact, so the chirp does not lose precision for large k.
    const angle = (Math.PI * ((k * k) % (2 * n))) / n;
    wRe[k] = Math.cos(angle);
    wIm[k] = -Math.sin(angle);
  }
  // Spectrum of the conjugate chirp, wrapped so that negative lags sit at the end of the buffer.
  const bRe = new Float64Array(m);
  const bIm = new Float64Array(m);
  for (let k = 0; k < n; k++) {
    bRe[k] = wRe[k]!;
    bIm[k] = -wIm[k]!;
    if (k > 0) {
      bRe[m - k] = wRe[k]!;
      bIm[m - k] = -wIm[k]!;
    }
  }
  inner.forward(bRe, bIm);
  const aRe = new Float64Array(m);
  const aIm = new Float64Array(m);
  return {
    forward(re, im) {
      aRe.fill(0);
      aIm.fill(0);
      for (let k = 0; k < n; k++) {
        aRe[k] = re[k]! * wRe[k]! - im[k]! * wIm[k]!;
        aIm[k] = re[k]! * wIm[k]! + im[k]! * wRe[k]!;
      }
      inner.forward(aRe, aIm);
      // Pointwise product, then the inverse of size m via the conjugation identity (scale folded in below).
      for (let k = 0; k < m; k++) {
        const r = aRe[k]! * bRe[k]! - aIm[k]! * bIm[k]!;
        const i = aRe[k]! * bIm[k]! + aIm[k]! * bRe[k]!;
        aRe[k] = r;
        aIm[k] = -i;
      }
      inner.forward(aRe, aIm);
      const scale = 1 / m;
      for (let k = 0; k < n; k++) {
        const cr = aRe[k]! * scale;
        const ci = -aIm[k]! * scale;
        re[k] = cr * wRe[k]! - ci * wIm[k]!;
        im[k] = cr * wIm[k]! + ci * wRe[k]!;
      }
    },
  };
}
