/**
 * The discrete Gaussian N_Z(0, S), P(x) ∝ exp(−x²/(2S)) on the integers, sampled exactly
 * (Canonne, Kamath, Steinke 2020, "The Discrete Gaussian for Differential Privacy",
 * Algorithms 1–3) from a CSPRNG, with integer arithmetic only.
 *
 * Why: Gaussian noise drawn and added in floating point leaves the low-order bits of the
 * released value depending on the clean value (Mironov 2012), which voids the guarantee. On an
 * integer grid the released sum is an integer plus integer noise, and nothing leaks below it.
 *
 * Parameters. For a requested σ > 0 let t = ⌊σ⌋ + 1, u = ⌈σ²/t⌉ and S = t·u ≥ σ² (more noise
 * than asked for, never less). CKS Algorithm 3 with variance S draws Y from the discrete Laplace
 * distribution of scale t and keeps it with probability exp(−(|Y| − S/t)²/(2S)) = exp(−m²/(2S)),
 * m = ||Y| − u|, an integer: every quantity is an integer, and for σ up to about 2^25 every one
 * of them stays an exact double below 2^53. Where one would not (the far tail, σ above that),
 * that step is done in BigInt, so the sampler is exact for every accepted σ.
 *
 * Randomness: 32-bit words from a RandomFill (WebCrypto getRandomValues by default), pooled in
 * 64 KiB blocks per source (one getRandomValues call each) and read a byte at a time. A
 * Bernoulli(p/q) compares a random byte with the next 8 binary digits of p/q (integer long
 * division, done as r·q ≤ x·2^8 < (r+1)·q), so one byte settles it with probability 255/256;
 * Bernoulli(e⁻¹) compares bytes with the exact binary expansion of e⁻¹ (computed in BigInt);
 * the sign takes one bit. That is 5–16 bytes per draw, and getRandomValues takes under 5 % of
 * the time. The "general" path compares bit by bit (about 2 bits per Bernoulli): about a
 * quarter fewer bytes, but 1.5–2× slower. No byte is used twice.
 *
 * Floating point appears only in discreteGaussianParameters (to report σ_used = √S and to read
 * σ's bits); everything below the "sampling" marker is integer arithmetic on doubles that hold
 * exact integers (+, −, ×, and % and / only where the result is an exact integer) or on BigInts.
 */

import { cryptoRandomFill, type RandomFill } from "./noise";

/** The largest σ accepted: noise of a few times 2^40 stays far below 2^53. */
export const DISCRETE_GAUSSIAN_MAX_SIGMA = 2 ** 40;

/** The integer parameters actually used for a requested σ. */
export interface DiscreteGaussianParameters {
  /** Scale of the discrete Laplace proposal: ⌊σ⌋ + 1. */
  t: number;
  /** ⌈σ²/t⌉. */
  u: number;
  /** S = t·u ≥ σ², the variance parameter of the distribution sampled (as a double: exact below 2^53). */
  variance: number;
  /** √S, the σ actually used (≥ the requested σ). */
  sigma: number;
}

/** Internal: S as an exact BigInt too (it exceeds 2^53 once σ ≳ 2^26.5). */
interface ExactParameters extends DiscreteGaussianParameters {
  varianceBig: bigint;
}

/** Options, for tests: every path samples the same distribution exactly. */
export interface DiscreteGaussianOptions {
  /**
   * "auto" (default): the written-out fast steps (a random byte against 8 digits at a time)
   * where the numbers allow, the general steps otherwise. "general": the general steps only
   * (bit by bit in exact doubles, BigInt where a number would pass 2^52). "bigint": the
   * Bernoulli(exp(−γ)) steps in BigInt always. The last two are slower.
   */
  path?: "auto" | "general" | "bigint";
}

function checkSigma(sigma: number): void {
  if (typeof sigma !== "number" || !Number.isFinite(sigma) || !(sigma > 0)) {
    throw new RangeError(`discrete Gaussian σ must be a finite number > 0, got ${sigma}`);
  }
  if (sigma > DISCRETE_GAUSSIAN_MAX_SIGMA) {
    throw new RangeError(
      `discrete Gaussian σ = ${sigma} exceeds 2^40: its draws could leave the range of integers a double holds exactly (2^53)`,
    );
  }
}

let lastSigma = NaN;
let lastParameters: ExactParameters | undefined;

function exactParameters(sigma: number): ExactParameters {
  checkSigma(sigma);
  if (sigma === lastSigma && lastParameters) return lastParameters;
  const t = Math.floor(sigma) + 1;
  // σ = N/2^e exactly (doubling a double is exact), so σ² = N²/4^e and u = ⌈N²/(t·4^e)⌉ exactly.
  let scaled = sigma;
  let e = 0n;
  while (!Number.isInteger(scaled)) {
    scaled *= 2;
    e += 1n;
  }
  const n = BigInt(scaled);
  const den = BigInt(t) << (2n * e);
  const uBig = (n * n + den - 1n) / den;
  const varianceBig = BigInt(t) * uBig;
  const variance = Number(varianceBig);
  lastParameters = { t, u: Number(uBig), variance, sigma: Math.sqrt(variance), varianceBig };
  lastSigma = sigma;
  return lastParameters;
}

/** The integer parameters actually used for a requested σ: t, u and the variance S = t·u ≥ σ² (σ_used = √S). */
export function discreteGaussianParameters(sigma: number): DiscreteGaussianParameters {
  const { t, u, variance, sigma: used } = exactParameters(sigma);
  return { t, u, variance, sigma: used };
}

// ---------------------------------------------------------------------------------------------
// sampling: integer arithmetic only (no Math.*, no fractions) below this line
// ---------------------------------------------------------------------------------------------

/** One getRandomValues call's worth of 32-bit words. */
const POOL_WORDS = 16384;
const POOL_BYTES = 4 * POOL_WORDS;
const TWO_POW_23 = 8388608;
const TWO_POW_31 = 2147483648;
const TWO_POW_45 = 35184372088832;
const TWO_POW_49 = 562949953421312;
const TWO_POW_52 = 4503599627370496;
const MAX_SAFE = 9007199254740991;
/** POW2[k] = 2^k, k ≤ 53. */
const POW2 = Float64Array.from({ length: 54 }, (_, k) => 2 ** k);
/** The largest m with m² < 2^53. */
const MAX_SAFE_ROOT = 94906265;
/** Largest Alg. 1 step K done with 32-bit chunks in the discrete Laplace step (P(K > 16) < 1/16!). */
const K_BYTES_MAX = 16;

/** x | 0 for 0 ≤ x < 2^31 (a 32-bit integer the compiler can divide as such); 0 above. */
function toInt32(x: number): number {
  return x < TWO_POW_31 ? x | 0 : 0;
}

/**
 * ⌊2^n/e⌋ exactly, from bounds on 2^P·e = Σ 2^P/k!: the truncated sum L of ⌊2^P/k!⌋ over
 * k ≤ N (with N! > 2^(P+1)) satisfies L ≤ 2^P·e < L + N + 2; guard bits are added until both
 * ends give the same ⌊2^(n+P)/(2^P e)⌋ (e is irrational, so this ends).
 */
export function inverseEBits(n: number): bigint {
  for (let guard = 64; ; guard *= 2) {
    const p = BigInt(n + guard);
    const one = 1n << p;
    let sum = 0n;
    let term = one;
    let k = 0n;
    while (term > 0n) {
      sum += term;
      k += 1n;
      term /= k;
    }
    // term reached 0 at k: every later ⌊2^P/j!⌋ is 0 and the tail Σ_{j≥k} 2^P/j! < 2; each
    // floor lost < 1, so 2^P·e ∈ [sum, sum + k + 2).
    const num = 1n << (BigInt(n) + p);
    const lo = num / (sum + k + 2n);
    const hi = num / sum;
    if (lo === hi) return lo;
  }
}

/** The binary expansion of e⁻¹ in bytes, most significant first (extended on demand). */
let inverseE = expansionBytes(256);
/** Its first byte, 0x5e. */
const INV_E_BYTE0 = inverseE[0]!;

function expansionBytes(bits: number): Uint8Array {
  const x = inverseEBits(bits);
  const bytes = new Uint8Array(bits / 8);
  for (let i = 0; i < bytes.length; i++) bytes[i] = Number((x >> BigInt(bits - 8 * (i + 1))) & 255n);
  return bytes;
}

/**
 * One per random source: its pool of words and the bits of the current word not yet used, so
 * that consecutive calls (tensor after tensor) never reuse nor waste a word. Also holds the
 * parameters of the call in progress, so the hot loop reads one object.
 */
class Sampler {
  private readonly words = new Uint32Array(POOL_WORDS);
  /** The same pool read byte by byte; `pos` is the next unused byte. */
  private readonly bytes = new Uint8Array(this.words.buffer);
  private pos = POOL_BYTES;
  /** The byte that single bits are taken from, and how many of its bits are left. */
  private bitByte = 0;
  private bitsLeft = 0;

  // Parameters of the current call (set by configure).
  private t = 1;
  private u = 1;
  /** 2S when 2S ≤ 2^52 (fast path), else Infinity. */
  private b = Infinity;
  private tBig = 1n;
  private uBig = 1n;
  private bBig = 2n;
  /** Fast steps allowed (path "auto"). */
  private fast = true;
  /** Bernoulli(exp(−γ)) in BigInt always (path "bigint"). */
  private forceBig = false;
  /** Uniform on {0, …, t−1}: an integer x of `uniformBytes` random bytes (31 bits for 4), kept if x < uniformLimit, mod t. */
  private uniformBytes = 0;
  private uniformLimit = 1;
  /** The Bernoulli(U/(t·K)) of the discrete Laplace step use 32-bit arithmetic for K ≤ kBytes (t·K·2^8 < 2^31). */
  private kBytes = 0;

  constructor(private readonly random: RandomFill) {}

  configure(p: ExactParameters, path: "auto" | "general" | "bigint"): void {
    this.t = p.t;
    this.u = p.u;
    this.bBig = 2n * p.varianceBig;
    this.b = this.bBig <= BigInt(TWO_POW_52) ? Number(this.bBig) : Infinity;
    this.tBig = BigInt(p.t);
    this.uBig = BigInt(p.u);
    this.fast = path === "auto";
    this.forceBig = path === "bigint";
    // k = bit length of t − 1; draw at least 6 bits more than that so that rejection is rare.
    let k = 0;
    while (POW2[k]! < p.t) k++;
    let range: number;
    if (k === 0) {
      this.uniformBytes = 0;
      range = 1;
    } else if (k <= 18) {
      this.uniformBytes = (k + 6 + 7) >>> 3;
      range = POW2[8 * this.uniformBytes]!;
    } else if (k <= 25) {
      this.uniformBytes = 4;
      range = TWO_POW_31;
    } else {
      this.uniformBytes = 6;
      range = POW2[48]!;
    }
    this.uniformLimit = range - (range % p.t);
    const kMax = (TWO_POW_23 - 1 - ((TWO_POW_23 - 1) % p.t)) / p.t;
    this.kBytes = kMax < K_BYTES_MAX ? kMax : K_BYTES_MAX;
  }

  /** Refills the pool; returns the new read position, 0. */
  private refill(): number {
    this.random(this.words);
    this.pos = 0;
    return 0;
  }

  /** One random byte. */
  private byte(): number {
    if (this.pos === POOL_BYTES) {
      this.random(this.words);
      this.pos = 0;
    }
    return this.bytes[this.pos++]!;
  }

  /** One random bit. */
  private bit(): number {
    if (this.bitsLeft === 0) {
      this.bitByte = this.byte();
      this.bitsLeft = 8;
    }
    return (this.bitByte >>> --this.bitsLeft) & 1;
  }

  /**
   * Bernoulli(p/q) for integers 0 ≤ p, 0 < q ≤ 2^52: random bits against the binary expansion
   * of p/q, digit by digit (x < q stays below 2^52, so 2x is exact).
   */
  private bernoulli(p: number, q: number): boolean {
    if (p >= q) return true;
    if (p === 0) return false;
    let x = p;
    for (;;) {
      x += x;
      let digit = 0;
      if (x >= q) {
        x -= q;
        digit = 1;
      }
      const r = this.bit();
      if (r !== digit) return r < digit;
      // The expansion ended: the random number is ≥ p/q (equality has probability 0).
      if (x === 0) return false;
    }
  }

  /** Bernoulli(p/q) for BigInts, bit by bit. */
  private bernoulliBig(p: bigint, q: bigint): boolean {
    if (p >= q) return true;
    if (p === 0n) return false;
    let x = p;
    for (;;) {
      x += x;
      let digit = 0;
      if (x >= q) {
        x -= q;
        digit = 1;
      }
      const r = this.bit();
      if (r !== digit) return r < digit;
      if (x === 0n) return false;
    }
  }

  /** Bernoulli(e⁻¹): random bytes against the binary expansion of e⁻¹. */
  private bernoulliInverseE(): boolean {
    return this.bernoulliInverseEFrom(0);
  }

  /** The same, given that the bytes before digit j matched. */
  private bernoulliInverseEFrom(j0: number): boolean {
    let digits = inverseE;
    for (let j = j0; ; j++) {
      if (j === digits.length) {
        // Reached with probability 2^−256 per call: compute twice as many digits.
        inverseE = expansionBytes(digits.length * 16);
        digits = inverseE;
      }
      const d = digits[j]!;
      const r = this.byte();
      if (r !== d) return r < d;
    }
  }

  /**
   * Bernoulli(exp(−low/t)) for 0 ≤ low < t, CKS Algorithm 1 (Bernoulli(γ/K) for K = 1, 2, …
   * until one is 0; accept when that K is odd), given that the steps K < k0 gave 1.
   */
  private bernoulliExpOverTFrom(low: number, k0: number): boolean {
    if (low === 0) return true;
    if (this.forceBig) return this.bernoulliExpFractionBig(BigInt(low), this.tBig, k0);
    const t = this.t;
    let k = k0;
    for (;;) {
      const q = t * k;
      let one: boolean;
      if (q <= TWO_POW_52) one = this.bernoulli(low, q);
      else return this.bernoulliExpFractionBig(BigInt(low), this.tBig, k);
      if (!one) return (k & 1) === 1;
      k++;
    }
  }

  /** Bernoulli(exp(−a/b)) for integers 0 ≤ a < b ≤ 2^52 (Algorithm 1). */
  private bernoulliExpFraction(a: number, b: number): boolean {
    return this.bernoulliExpFractionFrom(a, b, 1);
  }

  /** The same, given that the Bernoulli(γ/K) for K < k0 were all 1. */
  private bernoulliExpFractionFrom(a: number, b: number, k0: number): boolean {
    if (a === 0) return true;
    let k = k0;
    for (;;) {
      const q = b * k;
      // q ≤ 2^53 is exact; anything larger is > 2^52 whatever the rounding.
      if (q > TWO_POW_52) return this.bernoulliExpFractionBig(BigInt(a), BigInt(b), k);
      if (!this.bernoulli(a, q)) return (k & 1) === 1;
      k++;
    }
  }

  /** Algorithm 1 for γ = a/b ∈ [0, 1) in BigInt, continuing at K = k0. */
  private bernoulliExpFractionBig(a: bigint, b: bigint, k0: number): boolean {
    if (a === 0n) return true;
    let k = k0;
    while (this.bernoulliBig(a, b * BigInt(k))) k++;
    return (k & 1) === 1;
  }

  /** Bernoulli(exp(−a/b)) for integers a ≥ 0, 0 < b ≤ 2^52, a < 2^53: ⌊a/b⌋ Bernoulli(e⁻¹), then the fraction. */
  private bernoulliExp(a: number, b: number): boolean {
    const r = a % b;
    for (let n = (a - r) / b; n > 0; n--) {
      if (!this.bernoulliInverseE()) return false;
    }
    return this.bernoulliExpFraction(r, b);
  }

  private bernoulliExpBig(a: bigint, b: bigint): boolean {
    const r = a % b;
    for (let n = a / b; n > 0n; n--) {
      if (!this.bernoulliInverseE()) return false;
    }
    return this.bernoulliExpFractionBig(r, b, 1);
  }

  /** Keeps a discrete Laplace draw with probability exp(−m²/(2S)), m = ||Y| − u| (CKS Algorithm 3). */
  private accept(m: number): boolean {
    if (m <= MAX_SAFE_ROOT && this.b <= TWO_POW_52 && !this.forceBig) return this.bernoulliExp(m * m, this.b);
    const mBig = BigInt(m);
    return this.bernoulliExpBig(mBig * mBig, this.bBig);
  }

  /**
   * One draw of N_Z(0, S): CKS Algorithm 2 (discrete Laplace of scale t: U uniform below t kept
   * with probability exp(−U/t), plus t·V with V geometric from Bernoulli(e⁻¹) trials, a random
   * sign, −0 rejected) inside Algorithm 3's rejection loop.
   *
   * The common steps are written out here (V8 does not inline this much), reading the pool
   * through a local byte position; every other step is a method call, with the position saved
   * before and read back after it.
   */
  sample(): number {
    const bytes = this.bytes;
    const t = this.t;
    // t as a 32-bit integer, used only where t < 2^25 (so the compiler can use integer division).
    const tInt = toInt32(t);
    const u = this.u;
    const b = this.b;
    const nb = this.uniformBytes;
    const topMask = nb === 4 ? 127 : 255;
    const limit = this.uniformLimit;
    const fast = this.fast;
    const kBytes = this.kBytes;
    const wideAccept = fast && b <= TWO_POW_49;
    let pos = this.pos;
    for (;;) {
      // U uniform on {0, …, t−1}: nb random bytes (31 bits when nb = 4), rejection above `limit`.
      let low = 0;
      if (nb !== 0) {
        for (;;) {
          if (pos === POOL_BYTES) pos = this.refill();
          let x = bytes[pos++]! & topMask;
          for (let i = 1; i < nb; i++) {
            if (pos === POOL_BYTES) pos = this.refill();
            x = x * 256 + bytes[pos++]!;
          }
          if (x < limit) {
            low = nb <= 4 ? x % tInt : x % t;
            break;
          }
        }
      }

      // D ~ Bernoulli(exp(−U/t)) (Algorithm 1): Bernoulli(U/(tK)), K = 1, 2, … until a 0.
      if (low !== 0) {
        let k = 1;
        if (fast) {
          for (; k <= kBytes; k++) {
            // Bytes against the binary expansion of U/(tK), 8 digits at a time (32-bit arithmetic).
            const q = (tInt * k) | 0;
            let x = low;
            let one: boolean;
            for (;;) {
              // With d = ⌊x·2^8/q⌋: r < d ⟺ (r+1)·q ≤ x·2^8, r > d ⟺ r·q > x·2^8 (no division needed).
              const scaled = x << 8;
              if (pos === POOL_BYTES) pos = this.refill();
              const r = bytes[pos++]!;
              const below = r * q;
              if (below > scaled) {
                one = false;
                break;
              }
              if (below + q <= scaled) {
                one = true;
                break;
              }
              x = scaled - below;
              if (x === 0) {
                one = false;
                break;
              }
            }
            if (!one) break;
          }
        }
        if (k > kBytes || !fast) {
          // t·K too large for 32-bit chunks (or BigInt forced): the general method from this K.
          this.pos = pos;
          const d = this.bernoulliExpOverTFrom(low, k);
          pos = this.pos;
          if (!d) continue;
        } else if ((k & 1) === 0) continue;
      }

      // V: the number of Bernoulli(e⁻¹) successes before the first failure.
      let v = 0;
      for (;;) {
        if (pos === POOL_BYTES) pos = this.refill();
        const r = bytes[pos++]!;
        if (r < INV_E_BYTE0) v++;
        else if (r > INV_E_BYTE0) break;
        else {
          this.pos = pos;
          const one = this.bernoulliInverseEFrom(1);
          pos = this.pos;
          if (one) v++;
          else break;
        }
      }

      // The sign, one bit.
      if (this.bitsLeft === 0) {
        if (pos === POOL_BYTES) pos = this.refill();
        this.bitByte = bytes[pos++]!;
        this.bitsLeft = 8;
      }
      const negative = ((this.bitByte >>> --this.bitsLeft) & 1) === 1;
      if (negative && low === 0 && v === 0) continue;

      const magnitude = low + t * v;
      this.pos = pos;
      if (magnitude > MAX_SAFE) {
        // Probability below e^(−2^12) for every accepted σ; kept exact all the same.
        if (this.acceptHuge(low, v)) throw new RangeError("discrete Gaussian draw beyond 2^53 (probability < e^-4096)");
        pos = this.pos;
        continue;
      }
      const m = magnitude >= u ? magnitude - u : u - magnitude;
      if (!wideAccept || m > MAX_SAFE_ROOT) {
        const c = this.accept(m);
        pos = this.pos;
        if (c) return negative ? -magnitude : magnitude;
        continue;
      }

      // C ~ Bernoulli(exp(−m²/(2S))): ⌊m²/2S⌋ Bernoulli(e⁻¹), then Algorithm 1 on the remainder.
      const a = m * m;
      // Usually m² < 2S (no whole part): skip the remainder then.
      const rem = a < b ? a : a % b;
      let ok = true;
      for (let n = a < b ? 0 : (a - rem) / b; n > 0; n--) {
        if (pos === POOL_BYTES) pos = this.refill();
        const r = bytes[pos++]!;
        if (r > INV_E_BYTE0) {
          ok = false;
          break;
        }
        if (r === INV_E_BYTE0) {
          this.pos = pos;
          ok = this.bernoulliInverseEFrom(1);
          pos = this.pos;
          if (!ok) break;
        }
      }
      if (!ok) continue;
      if (rem !== 0) {
        let k = 1;
        for (;;) {
          const q = b * k;
          if (q > TWO_POW_49) {
            this.pos = pos;
            ok = this.bernoulliExpFractionFrom(rem, b, k);
            pos = this.pos;
            break;
          }
          // A byte at a time against the binary expansion of rem/(2S·K), in exact double
          // arithmetic: 8 digits per step when q ≤ 2^45 (x·2^8 and r·q + q stay ≤ 2^53), else
          // 4 digits twice (q ≤ 2^49).
          let x = rem;
          let one: boolean;
          if (q <= TWO_POW_45) {
            for (;;) {
              const scaled = x * 256;
              if (pos === POOL_BYTES) pos = this.refill();
              const r = bytes[pos++]!;
              const below = r * q;
              if (below > scaled) {
                one = false;
                break;
              }
              if (below + q <= scaled) {
                one = true;
                break;
              }
              x = scaled - below;
              if (x === 0) {
                one = false;
                break;
              }
            }
          } else {
            for (;;) {
              if (pos === POOL_BYTES) pos = this.refill();
              const r = bytes[pos++]!;
              let scaled = x * 16;
              let below = (r >>> 4) * q;
              if (below > scaled) {
                one = false;
                break;
              }
              if (below + q <= scaled) {
                one = true;
                break;
              }
              x = scaled - below;
              if (x === 0) {
                one = false;
                break;
              }
              scaled = x * 16;
              below = (r & 15) * q;
              if (below > scaled) {
                one = false;
                break;
              }
              if (below + q <= scaled) {
                one = true;
                break;
              }
              x = scaled - below;
              if (x === 0) {
                one = false;
                break;
              }
            }
          }
          if (!one) {
            ok = (k & 1) === 1;
            break;
          }
          k++;
        }
      }
      if (ok) {
        this.pos = pos;
        return negative ? -magnitude : magnitude;
      }
    }
  }

  private acceptHuge(low: number, v: number): boolean {
    const magnitude = BigInt(low) + this.tBig * BigInt(v);
    const m = magnitude >= this.uBig ? magnitude - this.uBig : this.uBig - magnitude;
    return this.bernoulliExpBig(m * m, this.bBig);
  }
}

const samplers = new WeakMap<RandomFill, Sampler>();

function samplerFor(random: RandomFill, sigma: number, options?: DiscreteGaussianOptions): Sampler {
  const p = exactParameters(sigma);
  const path = options?.path ?? "auto";
  if (path !== "auto" && path !== "general" && path !== "bigint") throw new RangeError(`unknown sampling path "${String(path)}"`);
  let s = samplers.get(random);
  if (!s) {
    s = new Sampler(random);
    samplers.set(random, s);
  }
  s.configure(p, path);
  return s;
}

/** n independent draws of N_Z(0, S) as exact integers in a Float64Array (S from discreteGaussianParameters(σ)). */
export function discreteGaussianNoise(
  n: number,
  sigma: number,
  random: RandomFill = cryptoRandomFill,
  options?: DiscreteGaussianOptions,
): Float64Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`length must be an integer ≥ 0, got ${n}`);
  const s = samplerFor(random, sigma, options);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = s.sample();
  return out;
}

/**
 * Adds n = target.length independent N_Z(0, S) integers to target in place. target must hold
 * integers; a sum that would leave the exact range (|x| > 2^53 − 1) throws before it is written.
 */
export function addDiscreteGaussianNoise(
  target: Float64Array,
  sigma: number,
  random: RandomFill = cryptoRandomFill,
  options?: DiscreteGaussianOptions,
): void {
  const s = samplerFor(random, sigma, options);
  const n = target.length;
  for (let i = 0; i < n; i++) {
    const x = target[i]! + s.sample();
    if (!(x <= MAX_SAFE && x >= -MAX_SAFE)) {
      throw new RangeError(`target[${i}] + noise is not an exact integer below 2^53 (target[${i}] = ${target[i]})`);
    }
    target[i] = x;
  }
}

/** One draw of N_Z(0, S) (for a scalar release such as a noised count). */
export function discreteGaussianSample(sigma: number, random: RandomFill = cryptoRandomFill, options?: DiscreteGaussianOptions): number {
  return samplerFor(random, sigma, options).sample();
}
