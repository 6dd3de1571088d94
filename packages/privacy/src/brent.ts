/**
 * Brent's root finder (R. P. Brent, "Algorithms for Minimization without
 * Derivatives", 1973, ch. 4): inverse quadratic interpolation or secant steps,
 * with bisection whenever interpolation is not making enough progress, so it
 * never does worse than bisection on a bracketing interval.
 */

export interface BrentOptions {
  /** Absolute tolerance on x. */
  xtol?: number;
  /** Relative tolerance on x (multiplied by |x|). */
  rtol?: number;
  maxIterations?: number;
}

export interface BrentResult {
  /** Best estimate of the root (smallest |f| seen among the bracket ends). */
  root: number;
  /** The final bracket: f has opposite signs at its two ends (both ends equal when f hit 0 exactly). */
  bracket: [number, number];
  /** f at the two bracket ends, in the same order. */
  values: [number, number];
  iterations: number;
}

const EPS = Number.EPSILON;

/**
 * Finds x in [a, b] with f(x) = 0, given f(a) and f(b) of opposite signs.
 * Infinite values of f are allowed at the ends (they force bisection), which
 * is what ε(σ) does as σ → 0.
 */
export function brentRoot(f: (x: number) => number, a0: number, b0: number, options: BrentOptions = {}): BrentResult {
  const xtol = options.xtol ?? 1e-12;
  const rtol = options.rtol ?? 4 * EPS;
  const maxIterations = options.maxIterations ?? 200;

  let a = a0;
  let b = b0;
  let fa = f(a);
  let fb = f(b);
  if (Number.isNaN(fa) || Number.isNaN(fb)) throw new Error("brentRoot: f is NaN at a bracket end");
  if (fa === 0) return { root: a, bracket: [a, a], values: [0, 0], iterations: 0 };
  if (fb === 0) return { root: b, bracket: [b, b], values: [0, 0], iterations: 0 };
  if (Math.sign(fa) === Math.sign(fb)) {
    throw new Error(`brentRoot: f(${a}) = ${fa} and f(${b}) = ${fb} do not bracket a root`);
  }

  // c is always the point that, with b, brackets the root; b has the smaller |f|.
  let c = a;
  let fc = fa;
  let step = b - a;
  let prevStep = step;

  for (let iter = 1; iter <= maxIterations; iter++) {
    if (Math.sign(fb) === Math.sign(fc)) {
      c = a;
      fc = fa;
      step = prevStep = b - a;
    }
    if (Math.abs(fc) < Math.abs(fb)) {
      a = b;
      b = c;
      c = a;
      fa = fb;
      fb = fc;
      fc = fa;
    }
    const tol = 0.5 * (xtol + rtol * Math.abs(b));
    const half = 0.5 * (c - b);
    if (fb === 0) return { root: b, bracket: [b, b], values: [0, 0], iterations: iter };
    if (Math.abs(half) <= tol) return { root: b, bracket: [b, c], values: [fb, fc], iterations: iter };

    const canInterpolate = Number.isFinite(fa) && Number.isFinite(fb) && Number.isFinite(fc);
    if (canInterpolate && Math.abs(prevStep) >= tol && Math.abs(fa) > Math.abs(fb)) {
      const s = fb / fa;
      let p: number;
      let q: number;
      if (a === c) {
        // Only two distinct points: secant step.
        p = 2 * half * s;
        q = 1 - s;
      } else {
        // Inverse quadratic interpolation through (a, fa), (b, fb), (c, fc).
        const qa = fa / fc;
        const r = fb / fc;
        p = s * (2 * half * qa * (qa - r) - (b - a) * (r - 1));
        q = (qa - 1) * (r - 1) * (s - 1);
      }
      if (p > 0) q = -q;
      else p = -p;
      // Accept the interpolated step only if it stays well inside the bracket
      // and shrinks faster than the step before last; otherwise bisect.
      if (2 * p < Math.min(3 * half * q - Math.abs(tol * q), Math.abs(prevStep * q))) {
        prevStep = step;
        step = p / q;
      } else {
        step = prevStep = half;
      }
    } else {
      step = prevStep = half;
    }

    a = b;
    fa = fb;
    b += Math.abs(step) > tol ? step : half > 0 ? tol : -tol;
    fb = f(b);
    if (Number.isNaN(fb)) throw new Error(`brentRoot: f(${b}) is NaN`);
  }
  throw new Error(`brentRoot: no convergence in ${maxIterations} iterations`);
}
