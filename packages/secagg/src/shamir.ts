/**
 * Shamir t-of-n secret sharing of 32-byte secrets over GF(p), p = 2^521 − 1 (a Mersenne prime).
 *
 * The field is far wider than the secrets (2^521 against 2^256), which buys a cheap sanity check: a
 * share replaced by random bytes reconstructs a uniform field element, below 2^256 with probability
 * 2^-265, so `shamirCombine` refuses any result that is not a 32-byte value. It is not an integrity
 * check: structured errors can stay in range (a flipped bit adds ±2^k, and in this Mersenne field a
 * small-rational Lagrange weight times 2^k is often small), and a forger who knows which x-coordinates
 * will be combined can shift the secret by any amount it likes. See `shamirCombine`'s consistency check
 * and the server's public-key check for what does detect forgeries.
 *
 * A share is (x, y) with x the holder's 1-based index and y the polynomial's value at x; `encodeShare`
 * writes it as 66 bytes of big-endian y followed by x as 2 big-endian bytes.
 */
import { bigIntToBytes, bytesToBigInt, isBytes, randomBytes } from './bytes';

export const FIELD_PRIME = (1n << 521n) - 1n;
const P = FIELD_PRIME;
/** Bytes of a field element (521 bits → 66 bytes). */
export const SHARE_Y_BYTES = 66;
/** Bytes of an encoded share: y, then x as a big-endian uint16. */
export const SHARE_BYTES = SHARE_Y_BYTES + 2;
export const SECRET_BYTES = 32;
/** x-coordinates are encoded in 2 bytes, so at most 65,535 holders. */
export const MAX_SHARES = 0xffff;

export interface ShamirShare {
  /** The holder's 1-based index (never 0: the polynomial's value at 0 is the secret). */
  x: number;
  /** The polynomial's value at x, 66 bytes big-endian. */
  y: Uint8Array;
}

/** a mod p, in [0, p), for any bigint (including negative ones). */
export function mod(a: bigint): bigint {
  const r = a % P;
  return r < 0n ? r + P : r;
}

/** a^-1 mod p by the extended Euclidean algorithm (cheaper than Fermat's 521 squarings). */
export function invert(a: bigint): bigint {
  let r0 = mod(a);
  if (r0 === 0n) throw new RangeError('invert: zero has no inverse');
  let r1 = P;
  let s0 = 1n;
  let s1 = 0n;
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1] = [r1, r0 - q * r1];
    [s0, s1] = [s1, s0 - q * s1];
  }
  return mod(s0);
}

/**
 * A uniform element of GF(p) by rejection sampling, which is exact: 66 random bytes with the top byte
 * masked to its lowest bit are uniform on [0, 2^521) = [0, p], and the single value p is rejected (a
 * 2^-521 event, so one draw in practice). Reducing a wider draw mod p would also do, but leaves a bias
 * of about 2^-(extra bits); rejection has none and costs nothing here.
 */
export function randomFieldElement(): bigint {
  for (;;) {
    const bytes = randomBytes(SHARE_Y_BYTES);
    bytes[0] = (bytes[0] as number) & 0x01;
    const v = bytesToBigInt(bytes);
    if (v < P) return v;
  }
}

/** Σ coeffs[i]·x^i mod p (Horner). */
export function evaluatePolynomial(coeffs: readonly bigint[], x: bigint): bigint {
  let acc = 0n;
  for (let i = coeffs.length - 1; i >= 0; i--) acc = mod(acc * x + (coeffs[i] as bigint));
  return acc;
}

/**
 * The unique polynomial of degree < points.length through the given (x, y) points, as coefficients
 * lowest first (Lagrange's form, expanded). O(k²) per basis polynomial: for tests and small k.
 */
export function interpolatePolynomial(points: readonly (readonly [bigint, bigint])[]): bigint[] {
  const k = points.length;
  const xs = points.map(([x]) => mod(x));
  if (new Set(xs).size !== k) throw new RangeError('interpolatePolynomial: duplicate x');
  const out: bigint[] = new Array<bigint>(k).fill(0n);
  for (let i = 0; i < k; i++) {
    // basis_i(X) = Π_{m≠i} (X − x_m) / (x_i − x_m)
    let basis: bigint[] = [1n];
    let denominator = 1n;
    for (let m = 0; m < k; m++) {
      if (m === i) continue;
      const xm = xs[m] as bigint;
      const next: bigint[] = new Array<bigint>(basis.length + 1).fill(0n);
      for (let d = 0; d < basis.length; d++) {
        next[d + 1] = mod((next[d + 1] as bigint) + (basis[d] as bigint));
        next[d] = mod((next[d] as bigint) - xm * (basis[d] as bigint));
      }
      basis = next;
      denominator = mod(denominator * ((xs[i] as bigint) - xm));
    }
    const scale = mod(mod((points[i] as readonly [bigint, bigint])[1]) * invert(denominator));
    for (let d = 0; d < k; d++) out[d] = mod((out[d] as bigint) + (basis[d] as bigint) * scale);
  }
  return out;
}

// Lagrange weights depend only on the x-coordinates, which are the same for every secret the server
// reconstructs in a round (the same participants revealed them all): compute them once.
const weightCache = new Map<string, bigint[]>();

/**
 * Lagrange weights w_i with f(target) = Σ w_i·f(x_i) for every polynomial f of degree < xs.length:
 * w_i = Π_{m≠i} (target − x_m) / (x_i − x_m).
 */
export function lagrangeWeights(xs: readonly number[], target = 0): bigint[] {
  const key = `${xs.join(',')}@${target}`;
  const cached = weightCache.get(key);
  if (cached) return cached;
  const bx = xs.map(BigInt);
  const t = BigInt(target);
  const weights = bx.map((xi, i) => {
    let num = 1n;
    let den = 1n;
    bx.forEach((xm, m) => {
      if (m === i) return;
      num = mod(num * (t - xm));
      den = mod(den * (xi - xm));
    });
    return mod(num * invert(den));
  });
  if (weightCache.size > 1024) weightCache.clear();
  weightCache.set(key, weights);
  return weights;
}

function checkCounts(threshold: number, count: number, where: string): void {
  if (!Number.isInteger(count) || count < 1 || count > MAX_SHARES) {
    throw new RangeError(`${where}: share count ${count} must be an integer in 1..${MAX_SHARES}`);
  }
  if (!Number.isInteger(threshold) || threshold < 1 || threshold > count) {
    throw new RangeError(`${where}: threshold ${threshold} must be an integer in 1..${count}`);
  }
}

/**
 * Splits a 32-byte secret (a big-endian integer < 2^256 < p) into `count` shares at x = 1..count,
 * any `threshold` of which reconstruct it: f(X) = secret + a_1·X + … + a_{t−1}·X^{t−1} with the a_i
 * uniform in GF(p), so any t − 1 shares are jointly uniform whatever the secret.
 */
export function shamirSplit(secret: Uint8Array, threshold: number, count: number): ShamirShare[] {
  if (!isBytes(secret, SECRET_BYTES)) throw new RangeError(`shamirSplit: the secret must be ${SECRET_BYTES} bytes`);
  checkCounts(threshold, count, 'shamirSplit');
  const coeffs = [bytesToBigInt(secret)];
  for (let i = 1; i < threshold; i++) coeffs.push(randomFieldElement());
  const shares: ShamirShare[] = [];
  for (let x = 1; x <= count; x++) {
    shares.push({ x, y: bigIntToBytes(evaluatePolynomial(coeffs, BigInt(x)), SHARE_Y_BYTES) });
  }
  return shares;
}

/**
 * Reconstructs the secret from at least `threshold` shares (Lagrange at 0 from the `threshold` shares
 * with the smallest x). Every further share is checked against the polynomial those define, so with
 * more than t shares a single wrong one is detected; with exactly t it cannot be (any t points define
 * some polynomial) beyond the range check described at the top of this file, which only catches
 * random garbage. Throws on duplicate or invalid x, malformed y, too few shares, inconsistency, or a
 * result that is not a 32-byte value.
 */
export function shamirCombine(shares: readonly ShamirShare[], threshold: number): Uint8Array {
  if (!Number.isInteger(threshold) || threshold < 1) {
    throw new RangeError(`shamirCombine: threshold ${threshold} must be a positive integer`);
  }
  if (shares.length < threshold) {
    throw new RangeError(`shamirCombine: ${shares.length} shares given, the threshold is ${threshold}`);
  }
  const seen = new Set<number>();
  const points = shares.map((share) => {
    if (!Number.isInteger(share.x) || share.x < 1 || share.x > MAX_SHARES) {
      throw new RangeError(`shamirCombine: share x = ${share.x} must be an integer in 1..${MAX_SHARES}`);
    }
    if (seen.has(share.x)) throw new RangeError(`shamirCombine: two shares have x = ${share.x}`);
    seen.add(share.x);
    if (!isBytes(share.y, SHARE_Y_BYTES)) {
      throw new RangeError(`shamirCombine: share x = ${share.x} has a y of the wrong size (want ${SHARE_Y_BYTES} bytes)`);
    }
    const y = bytesToBigInt(share.y);
    if (y >= P) throw new RangeError(`shamirCombine: share x = ${share.x} has y outside the field`);
    return { x: share.x, y };
  });
  points.sort((a, b) => a.x - b.x);
  const base = points.slice(0, threshold);
  const xs = base.map((p) => p.x);
  const combine = (weights: readonly bigint[]) =>
    mod(base.reduce((acc, p, i) => acc + p.y * (weights[i] as bigint), 0n));
  for (const extra of points.slice(threshold)) {
    if (combine(lagrangeWeights(xs, extra.x)) !== extra.y) {
      throw new Error(
        `shamirCombine: the share at x = ${extra.x} is inconsistent with the others (a corrupted or forged share)`,
      );
    }
  }
  const secret = combine(lagrangeWeights(xs, 0));
  if (secret >> BigInt(8 * SECRET_BYTES) !== 0n) {
    throw new Error(
      'shamirCombine: the shares reconstruct a value wider than 32 bytes (a corrupted or forged share, or shares of different secrets)',
    );
  }
  return bigIntToBytes(secret, SECRET_BYTES);
}

/** 66 bytes of big-endian y, then x as a big-endian uint16. */
export function encodeShare(share: ShamirShare): Uint8Array<ArrayBuffer> {
  if (!isBytes(share.y, SHARE_Y_BYTES)) throw new RangeError(`encodeShare: y must be ${SHARE_Y_BYTES} bytes`);
  if (!Number.isInteger(share.x) || share.x < 1 || share.x > MAX_SHARES) {
    throw new RangeError(`encodeShare: x = ${share.x} must be an integer in 1..${MAX_SHARES}`);
  }
  const out = new Uint8Array(SHARE_BYTES);
  out.set(share.y, 0);
  out[SHARE_Y_BYTES] = share.x >> 8;
  out[SHARE_Y_BYTES + 1] = share.x & 0xff;
  return out;
}

export function decodeShare(bytes: Uint8Array): ShamirShare {
  if (!isBytes(bytes, SHARE_BYTES)) throw new RangeError(`decodeShare: a share is ${SHARE_BYTES} bytes`);
  return {
    x: ((bytes[SHARE_Y_BYTES] as number) << 8) | (bytes[SHARE_Y_BYTES + 1] as number),
    y: bytes.slice(0, SHARE_Y_BYTES),
  };
}
