/**
 * Gaussian noise for DP from a cryptographically secure generator.
 *
 * Randomness comes from WebCrypto's getRandomValues (browsers and Node ≥ 19
 * expose it as globalThis.crypto), never from Math.random or a seeded PRNG:
 * predictable noise voids the DP guarantee. Normals come from Marsaglia's
 * polar method (one log and one square root per pair, no trigonometric calls)
 * on 52-bit uniforms that are never 0, so log(0) cannot occur.
 */

/** Fills the buffer with uniformly random 32-bit words from a CSPRNG. */
export type RandomFill = (buffer: Uint32Array) => void;

/** getRandomValues refuses more than 65,536 bytes per call. */
const MAX_WORDS_PER_CALL = 65536 / 4;

/** The platform CSPRNG (WebCrypto), filled in chunks of at most 64 KiB. */
export const cryptoRandomFill: RandomFill = (buffer) => {
  const crypto = globalThis.crypto;
  if (!crypto || typeof crypto.getRandomValues !== "function") {
    throw new Error("no WebCrypto getRandomValues on this platform; refusing to generate DP noise without a CSPRNG");
  }
  for (let offset = 0; offset < buffer.length; offset += MAX_WORDS_PER_CALL) {
    crypto.getRandomValues(buffer.subarray(offset, Math.min(buffer.length, offset + MAX_WORDS_PER_CALL)));
  }
};

const TWO_POW_26 = 67108864;
const TWO_POW_52 = 4503599627370496;
const TWO_POW_MINUS_52 = 1 / TWO_POW_52;
/** One getRandomValues call's worth of words. */
const POOL_WORDS = MAX_WORDS_PER_CALL;

/**
 * Unused random words are kept per source between calls, so that noising a
 * model of many small tensors does not cost one 64 KiB draw per tensor. Every
 * word is still used once only.
 */
interface Pool {
  words: Uint32Array;
  next: number;
}
const pools = new WeakMap<RandomFill, Pool>();

function poolFor(random: RandomFill): Pool {
  let pool = pools.get(random);
  if (!pool) {
    pool = { words: new Uint32Array(POOL_WORDS), next: POOL_WORDS };
    pools.set(random, pool);
  }
  return pool;
}

function checkStd(std: number): void {
  if (!(std >= 0 && std < Infinity)) throw new RangeError(`noise std must be finite and ≥ 0, got ${std}`);
}

/**
 * Writes (add = false) or adds (add = true) N(0, std²) draws into target.
 * Each attempt takes four words for two uniforms on (−1, 1): k is 52 random
 * bits (26 from each word) and u = (2k + 1 − 2⁵²)/2⁵², an odd multiple of
 * 2⁻⁵², exact in double precision and never 0, so s > 0 below. Pairs with
 * s = u² + v² ≥ 1 are rejected (probability 1 − π/4); otherwise
 * u·√(−2 ln s / s) and v·√(−2 ln s / s) are independent standard normals.
 */
function gaussianInto(target: Float32Array, std: number, add: boolean, random: RandomFill): void {
  const pool = poolFor(random);
  const words = pool.words;
  let w = pool.next;
  const n = target.length;
  let i = 0;
  let rejected = 0;
  while (i < n) {
    if (w + 4 > POOL_WORDS) {
      random(words);
      w = 0;
    }
    const u = (2 * ((words[w]! >>> 6) * TWO_POW_26 + (words[w + 1]! >>> 6)) + 1 - TWO_POW_52) * TWO_POW_MINUS_52;
    const v = (2 * ((words[w + 2]! >>> 6) * TWO_POW_26 + (words[w + 3]! >>> 6)) + 1 - TWO_POW_52) * TWO_POW_MINUS_52;
    w += 4;
    const s = u * u + v * v;
    if (s >= 1) {
      // A real generator is rejected 1000 times in a row with probability 0.215^1000.
      if (++rejected > 1000) throw new Error("random source looks broken: 1000 consecutive rejections");
      continue;
    }
    rejected = 0;
    const f = std * Math.sqrt((-2 * Math.log(s)) / s);
    target[i] = add ? target[i]! + u * f : u * f;
    i++;
    if (i < n) {
      target[i] = add ? target[i]! + v * f : v * f;
      i++;
    }
  }
  pool.next = w;
}

/** A fresh array of n independent N(0, std²) draws. */
export function gaussianNoise(n: number, std: number, random: RandomFill = cryptoRandomFill): Float32Array {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`length must be an integer ≥ 0, got ${n}`);
  checkStd(std);
  const out = new Float32Array(n);
  if (std > 0) gaussianInto(out, std, false, random);
  return out;
}

/** Adds independent N(0, std²) noise to every element of target, in place. */
export function addGaussianNoise(target: Float32Array, std: number, random: RandomFill = cryptoRandomFill): void {
  checkStd(std);
  if (std > 0) gaussianInto(target, std, true, random);
}

/** A model as a list of named weight arrays. */
export interface NamedTensor {
  name: string;
  values: Float32Array;
}

/**
 * Adds independent N(0, std²) noise to every weight of a model, given as a
 * list of named tensors or a name → values record. Every array gets noise, so
 * no parameter of the released update escapes it.
 */
export function addGaussianNoiseToModel(
  model: Iterable<NamedTensor> | Readonly<Record<string, Float32Array>>,
  std: number,
  random: RandomFill = cryptoRandomFill,
): void {
  checkStd(std);
  const arrays = Symbol.iterator in model ? Array.from(model as Iterable<NamedTensor>, (t) => t.values) : Object.values(model);
  for (const values of arrays) addGaussianNoise(values, std, random);
}
