/**
 * Special functions for privacy accounting, accurate in the far tails.
 *
 * The error function follows W. J. Cody's rational Chebyshev approximations
 * ("Rational Chebyshev approximations for the error function", Math. Comp. 23,
 * 1969), which reach full double precision on three ranges. Above 0.46875 they
 * give erfc(x)·e^{x²} directly, so log erfc(x) = −x² + log(that) never
 * underflows, which the RDP series and the GDP dual need (erfc underflows
 * beyond x ≈ 26, while the accountants need x in the hundreds).
 */

// Cody's coefficients for |x| ≤ 0.46875: erf(x) = x·R(x²).
const ERF_NUM = [3.1611237438705656, 113.86415415105016, 377.48523768530202, 3209.3775891384695, 0.18577770618460315];
const ERF_DEN = [23.601290952344122, 244.02463793444417, 1282.6165260773723, 2844.2368334391706];
// 0.46875 < x ≤ 4: erfc(x)·e^{x²} = R(x).
const MID_NUM = [
  0.56418849698867009, 8.8831497943883759, 66.119190637141635, 298.63513819740013, 881.95222124176909,
  1712.0476126340706, 2051.0783778260716, 1230.3393547979972, 2.1531153547440383e-8,
];
const MID_DEN = [
  15.744926110709835, 117.6939508913125, 537.18110186200986, 1621.3895745666903, 3290.7992357334596,
  4362.6190901432472, 3439.3676741437216, 1230.3393548037495,
];
// x > 4: erfc(x)·e^{x²} = (1/√π − R(1/x²)/x²)/x.
const TAIL_NUM = [0.30532663496123236, 0.36034489994980445, 0.12578172611122926, 0.016083785148742275, 6.5874916152983678e-4, 0.016315387137302097];
const TAIL_DEN = [2.5685201922898682, 1.8729528499234604, 0.52790510295142842, 0.060518341312441319, 0.0023352049762686918];

const ERF_SMALL = 0.46875;
const INV_SQRT_PI = 0.56418958354775628695;
const LN_HALF = -Math.LN2;

function c(coefs: readonly number[], i: number): number {
  // Coefficient tables are fixed-length constants; this keeps noUncheckedIndexedAccess quiet without casts.
  return coefs[i] ?? 0;
}

/** erf(x) for |x| ≤ 0.46875. */
function erfSmall(x: number): number {
  const y = x * x;
  let num = c(ERF_NUM, 4) * y;
  let den = y;
  for (let i = 0; i < 3; i++) {
    num = (num + c(ERF_NUM, i)) * y;
    den = (den + c(ERF_DEN, i)) * y;
  }
  return (x * (num + c(ERF_NUM, 3))) / (den + c(ERF_DEN, 3));
}

/** erfc(x)·e^{x²} for x > 0.46875 (the scaled complementary error function). */
function erfcx(x: number): number {
  if (x <= 4) {
    let num = c(MID_NUM, 8) * x;
    let den = x;
    for (let i = 0; i < 7; i++) {
      num = (num + c(MID_NUM, i)) * x;
      den = (den + c(MID_DEN, i)) * x;
    }
    return (num + c(MID_NUM, 7)) / (den + c(MID_DEN, 7));
  }
  const z = 1 / (x * x);
  let num = c(TAIL_NUM, 5) * z;
  let den = z;
  for (let i = 0; i < 4; i++) {
    num = (num + c(TAIL_NUM, i)) * z;
    den = (den + c(TAIL_DEN, i)) * z;
  }
  const r = (z * (num + c(TAIL_NUM, 4))) / (den + c(TAIL_DEN, 4));
  return (INV_SQRT_PI - r) / x;
}

/**
 * e^{−x²} without losing the low bits of x²: x² is split into a part exact in
 * binary (x rounded to 1/16) and a small remainder, as Cody does.
 */
function expMinusSquare(x: number): number {
  const head = Math.trunc(x * 16) / 16;
  const rest = (x - head) * (x + head);
  return Math.exp(-head * head) * Math.exp(-rest);
}

/** Complementary error function, full double precision. */
export function erfc(x: number): number {
  const ax = Math.abs(x);
  if (ax <= ERF_SMALL) return 1 - erfSmall(x);
  const tail = ax > 26.7 ? 0 : erfcx(ax) * expMinusSquare(ax);
  return x > 0 ? tail : 2 - tail;
}

/** Error function. */
export function erf(x: number): number {
  if (Math.abs(x) <= ERF_SMALL) return erfSmall(x);
  return x > 0 ? 1 - erfc(x) : erfc(-x) - 1;
}

/** log erfc(x), finite for every finite x (no underflow in the upper tail). */
export function logErfc(x: number): number {
  if (x <= ERF_SMALL) return Math.log(erfc(x));
  return -x * x + Math.log(erfcx(x));
}

/** Standard normal CDF Φ(x). */
export function ndtr(x: number): number {
  const z = x * Math.SQRT1_2;
  if (Math.abs(z) <= ERF_SMALL) return 0.5 + 0.5 * erfSmall(z);
  return z > 0 ? 1 - 0.5 * erfc(z) : 0.5 * erfc(-z);
}

/** log Φ(x), accurate in both tails: log1p near Φ = 1, scaled erfc for x ≪ 0. */
export function logNdtr(x: number): number {
  if (x >= 0) return Math.log1p(-0.5 * erfc(x * Math.SQRT1_2));
  return LN_HALF + logErfc(-x * Math.SQRT1_2);
}

/** log(e^a + e^b) without overflow. */
export function logAddExp(a: number, b: number): number {
  if (a === -Infinity) return b;
  if (b === -Infinity) return a;
  const m = Math.max(a, b);
  return m + Math.log1p(Math.exp(-Math.abs(a - b)));
}
