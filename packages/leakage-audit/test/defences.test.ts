import { describe, expect, it } from 'vitest';
import { clientDpRelease } from '../src/defences';

/** A deterministic word source for the sampler (tests only; the CLI uses the CSPRNG). */
function counterRandom(seed: number): (buffer: Uint32Array) => void {
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

describe('clientDpRelease', () => {
  it('clips Δ to C and adds noise of std z·C per coordinate, as the server does for one update', () => {
    const delta = [new Float32Array(4000).fill(0.05), new Float32Array(1000).fill(-0.05)];
    const r = clientDpRelease(delta, { noiseMultiplier: 1, clip: 1, delta: 1e-5, random: counterRandom(1) });
    expect(r.norm).toBeCloseTo(0.05 * Math.sqrt(5000), 4);
    expect(r.sigma).toBeCloseTo(1, 2);
    const all = [...r.delta[0]!, ...r.delta[1]!];
    const clipped = 1 / Math.sqrt(5000);
    const mean0 = r.delta[0]!.reduce((a, b) => a + b, 0) / 4000;
    expect(mean0).toBeCloseTo(clipped, 1);
    const sd = Math.sqrt(all.reduce((a, b) => a + b * b, 0) / all.length);
    expect(sd).toBeGreaterThan(0.95);
    expect(sd).toBeLessThan(1.05);
  });

  it('reports the per-patient ε of one round: larger for smaller z, finite', () => {
    const delta = [new Float32Array(100).fill(0.01)];
    const e1 = clientDpRelease(delta, { noiseMultiplier: 1, clip: 1, delta: 1e-5, random: counterRandom(2) }).epsilon;
    const e4 = clientDpRelease(delta, { noiseMultiplier: 4, clip: 1, delta: 1e-5, random: counterRandom(3) }).epsilon;
    expect(Number.isFinite(e1)).toBe(true);
    expect(e4).toBeLessThan(e1);
    expect(e4).toBeGreaterThan(0);
  });
});
