import { describe, expect, it } from 'vitest';
import { gaussianWindow, matchMoments, mse, psnr, ssim } from '../src/metrics';

function ramp(rows: number, cols: number): Float32Array {
  return Float32Array.from({ length: rows * cols }, (_, i) => ((i % cols) + Math.floor(i / cols)) / (rows + cols - 2));
}

describe('psnr', () => {
  it('is 10·log10(1/MSE) for [0, 1] images', () => {
    const a = new Float32Array(64);
    const b = new Float32Array(64).fill(0.1);
    expect(mse(a, b)).toBeCloseTo(0.01, 7);
    expect(psnr(a, b)).toBeCloseTo(20, 5);
    expect(psnr(a, new Float32Array(64).fill(0.5))).toBeCloseTo(10 * Math.log10(4), 5);
    expect(psnr(a, b, 255)).toBeCloseTo(10 * Math.log10(255 ** 2 / 0.01), 4);
  });

  it('is infinite for identical images', () => {
    const a = ramp(8, 8);
    expect(psnr(a, a)).toBe(Number.POSITIVE_INFINITY);
  });
});

describe('ssim', () => {
  it('has a normalised 11-tap Gaussian window of σ 1.5', () => {
    const w = gaussianWindow();
    expect(w.length).toBe(11);
    expect(w.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 12);
    expect(w[5]! / w[6]!).toBeCloseTo(Math.exp(1 / (2 * 1.5 ** 2)), 12);
  });

  it('is 1 for identical images', () => {
    const a = ramp(16, 16).map((v, i) => v * (0.5 + 0.5 * Math.sin(i)));
    expect(ssim(a, a, 16, 16)).toBeCloseTo(1, 10);
  });

  it('is (2pq + C1)/(p² + q² + C1) for constant images p and q (C1 = 0.01², no structure term)', () => {
    const [p, q] = [0.2, 0.6];
    const c1 = 0.01 ** 2;
    expect(ssim(new Float32Array(256).fill(p), new Float32Array(256).fill(q), 16, 16)).toBeCloseTo((2 * p * q + c1) / (p * p + q * q + c1), 6);
  });

  it('is symmetric, below 1 for a noisy copy and negative for an inverted image', () => {
    const a = ramp(16, 16);
    const noisy = a.map((v, i) => Math.min(1, Math.max(0, v + 0.2 * Math.sin(7.3 * i))));
    const s = ssim(a, noisy, 16, 16);
    expect(s).toBeLessThan(0.9);
    expect(s).toBeCloseTo(ssim(noisy, a, 16, 16), 12);
    expect(ssim(a, a.map((v) => 1 - v), 16, 16)).toBeLessThan(0);
  });

  it('averages interleaved channels', () => {
    const a = ramp(12, 12);
    const b = a.map((v) => v * 0.5);
    const two = new Float32Array(288);
    const twoB = new Float32Array(288);
    a.forEach((v, i) => {
      two[2 * i] = v;
      two[2 * i + 1] = v;
      twoB[2 * i] = v;
      twoB[2 * i + 1] = b[i]!;
    });
    expect(ssim(two, twoB, 12, 12, 2)).toBeCloseTo((1 + ssim(a, b, 12, 12)) / 2, 10);
  });
});

describe('matchMoments', () => {
  it("gives the reconstruction the original's mean and standard deviation", () => {
    const original = ramp(8, 8).map((v) => 0.2 + 0.5 * v);
    const affine = original.map((v) => 0.1 + 0.3 * v);
    const matched = matchMoments(affine, original);
    expect(psnr(matched, original)).toBeGreaterThan(60);
  });
});
