import type { RandomFill } from '@fedward/privacy';

/** A deterministic word source for the sampler (tests only; the CLI uses the CSPRNG). */
export function counterRandom(seed: number): RandomFill {
  let s = seed >>> 0;
  return (buffer) => {
    for (let i = 0; i < buffer.length; i++) {
      s = (s + 0x6d2b79f5) >>> 0;
      let t = s;
      t = Math.imul(t ^ (t >>> 15), t | 1);
      t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
      buffer[i] = (t ^ (t >>> 14)) >>> 0;
    }
  };
}

