import { describe, expect, it } from 'vitest';
import {
  FIELD_PRIME,
  bigIntToBytes,
  bytesToBigInt,
  decodeShare,
  encodeShare,
  evaluatePolynomial,
  interpolatePolynomial,
  mod,
  randomBytes,
  shamirCombine,
  shamirSplit,
} from '../src/index';
import type { ShamirShare } from '../src/index';
import { pick } from './helpers';

const point = (s: ShamirShare): [bigint, bigint] => [BigInt(s.x), bytesToBigInt(s.y)];

describe('Shamir over GF(2^521 − 1)', () => {
  it('reconstructs from every one of several random t-subsets', () => {
    for (const [t, n] of [
      [2, 2],
      [2, 5],
      [3, 7],
      [6, 10],
      [11, 16],
    ] as const) {
      for (let trial = 0; trial < 3; trial++) {
        const secret = randomBytes(32);
        const shares = shamirSplit(secret, t, n);
        expect(shares.map((s) => s.x)).toEqual(Array.from({ length: n }, (_, i) => i + 1));
        for (let k = 0; k < 5; k++) {
          expect(shamirCombine(pick(shares, t), t)).toEqual(secret);
          // More than t shares: the extra ones are checked for consistency, and pass.
          expect(shamirCombine(pick(shares, t + Math.floor(Math.random() * (n - t + 1))), t)).toEqual(secret);
        }
      }
    }
  });

  it('handles the extreme secrets 0 and 2^256 − 1', () => {
    for (const secret of [new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
      expect(shamirCombine(shamirSplit(secret, 3, 5).slice(2), 3)).toEqual(secret);
    }
  });

  it('t − 1 shares are consistent with every candidate secret', () => {
    const t = 4;
    const n = 7;
    const shares = shamirSplit(randomBytes(32), t, n);
    const known = pick(shares, t - 1); // what t − 1 colluders hold
    for (let c = 0; c < 5; c++) {
      const candidate = bytesToBigInt(randomBytes(32));
      // The polynomial through (0, candidate) and the t − 1 shares, by Lagrange interpolation.
      const coeffs = interpolatePolynomial([[0n, candidate], ...known.map(point)]);
      expect(coeffs.length).toBeLessThanOrEqual(t); // degree ≤ t − 1: a valid sharing polynomial
      expect(evaluatePolynomial(coeffs, 0n)).toBe(candidate);
      for (const s of known) expect(evaluatePolynomial(coeffs, BigInt(s.x))).toBe(bytesToBigInt(s.y));
      // So a t-th share exists that, with the known ones, reconstructs the candidate.
      const other = shares.find((s) => !known.includes(s))!;
      const forged = { x: other.x, y: bigIntToBytes(evaluatePolynomial(coeffs, BigInt(other.x)), 66) };
      expect(bytesToBigInt(shamirCombine([...known, forged], t))).toBe(candidate);
    }
  });

  it('a single share is uniform whatever the secret (t ≥ 2)', () => {
    // y is 66 bytes big-endian of a value in [0, p), p = 2^521 − 1: its first byte holds only bit 520,
    // which is 1 with probability ≈ 1/2; its last byte is uniform on 0..255.
    const splits = 4096;
    for (const secret of [new Uint8Array(32), new Uint8Array(32).fill(0xff)]) {
      const last = new Array<number>(256).fill(0);
      let topOnes = 0;
      for (let i = 0; i < splits; i++) {
        const [share] = shamirSplit(secret, 2, 3);
        const y = share!.y;
        expect(y[0]! <= 1).toBe(true);
        topOnes += y[0]!;
        last[y[65]!]! += 1;
      }
      // Binomial(4096, 1/2): sd 32; 6 sd.
      expect(Math.abs(topOnes - splits / 2)).toBeLessThan(6 * 32);
      // χ² with 255 degrees of freedom: mean 255, sd ≈ 22.6; 6 sd above the mean.
      const expected = splits / 256;
      const chi2 = last.reduce((acc, o) => acc + (o - expected) ** 2 / expected, 0);
      expect(chi2).toBeLessThan(255 + 6 * 22.6);
    }
  });

  it('refuses duplicate x, too few shares, bad secrets and bad parameters', () => {
    const secret = randomBytes(32);
    const shares = shamirSplit(secret, 3, 5);
    expect(() => shamirCombine([shares[0]!, shares[1]!], 3)).toThrow(/2 shares given, the threshold is 3/);
    expect(() => shamirCombine([shares[0]!, shares[1]!, { ...shares[1]! }], 3)).toThrow(/two shares have x = 2/);
    expect(() => shamirCombine([shares[0]!, shares[1]!, { x: 0, y: shares[2]!.y }], 3)).toThrow(/x = 0/);
    expect(() => shamirSplit(new Uint8Array(31), 2, 3)).toThrow(/32 bytes/);
    expect(() => shamirSplit(secret, 4, 3)).toThrow(/threshold/);
    expect(() => shamirSplit(secret, 0, 3)).toThrow(/threshold/);
  });

  it('detects a wrong share among more than t, and random corruption with exactly t', () => {
    const secret = randomBytes(32);
    const shares = shamirSplit(secret, 3, 5);
    const bad = shares.map((s) => ({ x: s.x, y: s.y.slice() }));
    bad[4]!.y = bigIntToBytes(mod(bytesToBigInt(bad[4]!.y) + 1n), 66);
    expect(() => shamirCombine(bad, 3)).toThrow(/x = 5 is inconsistent/);
    // Exactly t with one random y: the result is a uniform field element, almost never < 2^256.
    const garbage = [shares[0]!, shares[1]!, { x: 3, y: bigIntToBytes(bytesToBigInt(randomBytes(66)) % FIELD_PRIME, 66) }];
    expect(() => shamirCombine(garbage, 3)).toThrow(/wider than 32 bytes/);
  });

  it('serializes a share as 66 bytes of y then x', () => {
    const [share] = shamirSplit(randomBytes(32), 2, 300).slice(299);
    const bytes = encodeShare(share!);
    expect(bytes.length).toBe(68);
    expect(bytes.subarray(0, 66)).toEqual(share!.y);
    expect((bytes[66]! << 8) | bytes[67]!).toBe(300);
    expect(decodeShare(bytes)).toEqual(share);
  });
});
