/**
 * Seeded randomness for the generator. Every stream is derived from a string
 * key (seed + hospital + patient + purpose) rather than from draw order, so
 * changing how many slices one hospital gets never changes another hospital's
 * images — and the same seed always gives byte-identical federations.
 */

/** 32-bit string hash (FNV-1a followed by a murmur-style finaliser). */
export function hashString(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface Rng {
  /** Uniform in [0, 1). */
  next(): number;
  uniform(lo: number, hi: number): number;
  /** Standard normal draw (Box–Muller). */
  normal(): number;
  /** Unsigned 32-bit integer. */
  uint32(): number;
}

/** mulberry32: tiny, fast and good enough for phantom noise. */
export function createRng(key: string): Rng {
  let state = hashString(key);
  let spare: number | null = null;
  const uint32 = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  };
  const next = (): number => uint32() / 4294967296;
  return {
    next,
    uint32,
    uniform: (lo, hi) => lo + (hi - lo) * next(),
    normal: () => {
      if (spare !== null) {
        const s = spare;
        spare = null;
        return s;
      }
      const u = 1 - next(); // (0, 1] so log() is finite
      const v = next();
      const r = Math.sqrt(-2 * Math.log(u));
      spare = r * Math.sin(2 * Math.PI * v);
      return r * Math.cos(2 * Math.PI * v);
    },
  };
}

/**
 * A DICOM UID under the 2.25 root (ITU-T X.667: a UUID written as one
 * decimal integer), drawn deterministically from a key so re-generating a
 * federation keeps its study/series/instance UIDs stable.
 */
export function deterministicUid(key: string): string {
  const rng = createRng(`uid:${key}`);
  let value = 0n;
  for (let i = 0; i < 4; i++) value = (value << 32n) | BigInt(rng.uint32());
  // Mark it as a version-4-style UUID so the 128-bit value is well formed.
  value &= ~(0xfn << 76n);
  value |= 0x4n << 76n;
  value &= ~(0x3n << 62n);
  value |= 0x2n << 62n;
  return `2.25.${value.toString(10)}`;
}
