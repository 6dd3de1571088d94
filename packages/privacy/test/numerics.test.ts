import { describe, expect, it } from "vitest";
import { brentRoot, erf, erfc, gdpDelta, gdpEpsilon, logErfc, logNdtr, ndtr } from "../src/index";
import { rel } from "./reference";

// Values computed with mpmath 1.3 at 40 significant digits.
const ERFC: [number, number][] = [
  [0.1, 0.8875370839817151016],
  [0.46875, 0.50738652678206200841],
  [1, 0.15729920705028513066],
  [3.5, 7.4309837234141274552e-7],
  [5, 1.5374597944280348502e-12],
  [10, 2.088487583762544757e-45],
  [26, 5.6631924088561428465e-296],
];
const LOG_ERFC: [number, number][] = [
  [30, -903.97411711064387808],
  [100, -10005.177585122664333],
  [1000, -1000007.4801207219062],
];
const LOG_NDTR: [number, number][] = [
  [-40, -804.60844201375378817],
  [-10, -53.231285150512470578],
  [-1, -1.8410216450092635058],
  [0.5, -0.36894641528865639307],
  [8, -6.2209605742717860585e-16],
];

describe("special functions", () => {
  it("erfc and log erfc match 40-digit values, including where erfc underflows", () => {
    for (const [x, v] of ERFC) {
      expect(rel(erfc(x), v), `erfc(${x})`).toBeLessThan(2e-14);
      expect(rel(logErfc(x), Math.log(v)), `logErfc(${x})`).toBeLessThan(1e-14);
      expect(rel(erfc(-x), 2 - v)).toBeLessThan(1e-15);
    }
    for (const [x, v] of LOG_ERFC) expect(rel(logErfc(x), v), `logErfc(${x})`).toBeLessThan(1e-14);
    expect(erfc(30)).toBe(0);
  });

  it("log Φ matches 40-digit values in both tails", () => {
    for (const [x, v] of LOG_NDTR) expect(rel(logNdtr(x), v), `logNdtr(${x})`).toBeLessThan(1e-13);
  });

  it("satisfies erf + erfc = 1 and Φ(x) + Φ(−x) = 1", () => {
    for (let x = -6; x <= 6; x += 0.37) {
      expect(Math.abs(erf(x) + erfc(x) - 1)).toBeLessThan(1e-15);
      expect(Math.abs(ndtr(x) + ndtr(-x) - 1)).toBeLessThan(1e-15);
      expect(Math.abs(logNdtr(x) - Math.log(ndtr(x)))).toBeLessThan(1e-14);
    }
  });
});

describe("Brent's method", () => {
  it("finds roots to the requested tolerance and keeps a bracket", () => {
    const cube = brentRoot((x) => x * x * x - 2, 0, 2, { xtol: 1e-14 });
    expect(Math.abs(cube.root - Math.cbrt(2))).toBeLessThan(1e-13);
    const [a, b] = cube.bracket;
    expect(Math.sign(cube.values[0]) * Math.sign(cube.values[1])).toBeLessThanOrEqual(0);
    expect(Math.abs(a - b)).toBeLessThanOrEqual(1e-14 + 8 * Number.EPSILON * Math.cbrt(2));
    const dottie = brentRoot((x) => Math.cos(x) - x, 0, 1);
    expect(Math.abs(Math.cos(dottie.root) - dottie.root)).toBeLessThan(1e-12);
    expect(dottie.iterations).toBeLessThan(12);
  });

  it("copes with infinite values at a bracket end and refuses a non-bracket", () => {
    const r = brentRoot((x) => (x <= 0 ? Infinity : 1 / x - 4), 0, 10);
    expect(r.root).toBeCloseTo(0.25, 10);
    expect(() => brentRoot((x) => x * x + 1, -1, 1)).toThrow(/bracket/);
  });
});

describe("Gaussian DP dual", () => {
  it("ε(δ) inverts δ(ε) over a wide range of μ, including ε far beyond Opacus' 500 bracket", () => {
    for (const mu of [1e-3, 0.1, 1, 5, 40, 150]) {
      for (const delta of [1e-12, 1e-5, 0.1]) {
        const eps = gdpEpsilon(mu, delta);
        if (eps === 0) {
          expect(gdpDelta(0, mu)).toBeLessThanOrEqual(delta);
          continue;
        }
        expect(rel(gdpDelta(eps, mu), delta), `μ=${mu} δ=${delta}`).toBeLessThan(1e-8);
      }
    }
    expect(gdpEpsilon(150, 1e-5)).toBeGreaterThan(10000);
    expect(gdpEpsilon(0, 1e-5)).toBe(0);
    expect(gdpEpsilon(Infinity, 1e-5)).toBe(Infinity);
  });
});
