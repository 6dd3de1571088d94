/**
 * Rényi DP of the Poisson-subsampled Gaussian mechanism (Mironov, Talwar,
 * Zhang 2019, arXiv:1908.10530): ε_RDP(α) = log(A_α)/(α − 1) with
 * A_α = E_{z∼N(0,σ²)}[((1 − q) + q·e^{(2z−1)/(2σ²)})^α].
 *
 * Integer α uses the exact binomial sum. Fractional α integrates the
 * definition with the trapezoidal rule, which converges geometrically here
 * and has a proven error bound (below). It gives the exact A_α, as Opacus'
 * and TF-Privacy's signed series (MTZ19 §3.3) do, without that series'
 * polynomially slow tail for orders near 1 or its cancellation when A_α ≈ 1.
 * dp_accounting ≥ 0.5 sums absolute values of the series instead, a looser
 * bound; see the package README.
 */

import { logAddExp } from "./special";

let scratch = new Float64Array(1100);

/** log(e^x − 1) for x > 0, stable for small and large x. */
function logExpm1(x: number): number {
  return x > 30 ? x + Math.log1p(-Math.exp(-x)) : Math.log(Math.expm1(x));
}

/**
 * log A_α for integer α ≥ 2 by the finite sum
 * A_α = Σ_i C(α,i)(1−q)^{α−i} q^i e^{(i²−i)/(2σ²)}.
 * The binomial weights sum to 1, so A_α − 1 = Σ_{i≥2} C(α,i)(1−q)^{α−i} q^i (e^{(i²−i)/(2σ²)} − 1),
 * a sum of positive terms: computing that avoids the cancellation of log(1 + tiny) when q is small.
 */
function logAIntegerOrder(q: number, sigma: number, alpha: number): number {
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const inv2s2 = 1 / (2 * sigma * sigma);
  if (scratch.length < alpha + 1) scratch = new Float64Array(alpha + 1);
  let logBinom = Math.log(alpha); // log C(α, 1)
  let max = -Infinity;
  for (let i = 2; i <= alpha; i++) {
    logBinom += Math.log((alpha - i + 1) / i);
    const t = logBinom + i * logQ + (alpha - i) * log1mQ + logExpm1((i * i - i) * inv2s2);
    scratch[i] = t;
    if (t > max) max = t;
  }
  let sum = 0;
  for (let i = 2; i <= alpha; i++) sum += Math.exp((scratch[i] ?? -Infinity) - max);
  return logAddExp(0, max + Math.log(sum));
}

/** The quadrature's discretisation and truncation errors are each kept below e^{−55}·A_α. */
const QUAD_LOG_ERROR = 55;
/** Orders needing more nodes than this (σ ≲ 10⁻³) are dropped (ε_RDP = ∞). */
export const MAX_QUADRATURE_NODES = 1 << 20;
let nodes = new Float64Array(4096);

/**
 * log A_α (for fractional α; valid for any α > 1) by the trapezoidal rule, with z = σx:
 *   A_α = ∫ φ(x) w(x)^α dx,  w(x) = 1 − q + q·e^{x/σ − 1/(2σ²)}.
 * For |Im x| < πσ/2, Re w > 0 and |φ(x+iy) w^α| ≤ e^{y²/2} φ(x) w(x)^α, so the
 * integrand is analytic in that strip and the trapezoidal error with step h is
 * at most 2e^{d²/2}A_α/(e^{2πd/h} − 1) (Trefethen & Weideman 2014, Thm 5.1).
 * The nodes cover two windows, around 0 and around α/σ, outside which the
 * envelope w^α ≤ 2^{α−1}((1−q)^α + q^α e^{αx/σ − α/(2σ²)}) (convexity of t^α)
 * is negligible next to the lower bound A_α ≥ max((1−q)^α, q^α e^{α(α−1)/(2σ²)}).
 */
function logAFractionalOrder(q: number, sigma: number, alpha: number): number {
  const d = Math.min(0.95 * (Math.PI / 2) * sigma, Math.sqrt(2 * QUAD_LOG_ERROR));
  const h = (2 * Math.PI * d) / (QUAD_LOG_ERROR + (d * d) / 2 + 2 * Math.LN2);
  const logQ = Math.log(q);
  const log1mQ = Math.log1p(-q);
  const shift = 1 / (2 * sigma * sigma);
  const logBump0 = alpha * log1mQ;
  const logBump1 = alpha * logQ + alpha * (alpha - 1) * shift;
  const logLower = Math.max(logBump0, logBump1);
  const halfWidth = (logBump: number): number => {
    const excess = QUAD_LOG_ERROR + Math.LN2 + (alpha - 1) * Math.LN2 + logBump - logLower;
    return excess > 0 ? Math.sqrt(2 * excess) : -1;
  };
  // Node index ranges [first, last] (node j sits at x = j·h): one window per
  // bump that matters, merged when they overlap.
  const windows: [number, number][] = [];
  for (const [center, logBump] of [
    [0, logBump0],
    [alpha / sigma, logBump1],
  ] as const) {
    const r = halfWidth(logBump);
    if (r < 0) continue;
    const first = Math.floor((center - r) / h);
    const last = Math.ceil((center + r) / h);
    const prev = windows[windows.length - 1];
    if (prev && first <= prev[1] + 1) prev[1] = Math.max(prev[1], last);
    else windows.push([first, last]);
  }
  const count = windows.reduce((n, [first, last]) => n + last - first + 1, 0);
  if (count > MAX_QUADRATURE_NODES) return Infinity;
  if (nodes.length < count) nodes = new Float64Array(count);

  const logNorm = -0.5 * Math.log(2 * Math.PI) + Math.log(h);
  let n = 0;
  let max = -Infinity;
  for (const [first, last] of windows) {
    for (let j = first; j <= last; j++) {
      const x = j * h;
      const u = x / sigma - shift;
      const logW = logAddExp(log1mQ, logQ + u);
      const g = logNorm - 0.5 * x * x + alpha * logW;
      nodes[n++] = g;
      if (g > max) max = g;
    }
  }
  let sum = 0;
  for (let k = 0; k < n; k++) sum += Math.exp((nodes[k] ?? -Infinity) - max);
  const logA = max + Math.log(sum);
  if (logA > 0.5) return logA;
  // A_α close to 1: integrate A_α − 1 = ∫ φ (w^α − 1) directly, whose
  // integrand has no cancellation against the 1, then log1p.
  let excessSum = 0;
  for (const [first, last] of windows) {
    for (let j = first; j <= last; j++) {
      const x = j * h;
      const v = alpha * Math.log1p(q * Math.expm1(x / sigma - shift)); // log w^α
      excessSum += v > 30 ? Math.exp(v - 0.5 * x * x) : Math.exp(-0.5 * x * x) * Math.expm1(v);
    }
  }
  return Math.log1p(excessSum * h / Math.sqrt(2 * Math.PI));
}

/**
 * One step of RDP at order α for the Gaussian mechanism with noise multiplier
 * σ, Poisson-subsampled with probability q (q = 1: no subsampling).
 */
export function rdpSubsampledGaussian(q: number, sigma: number, alpha: number): number {
  if (!(q >= 0 && q <= 1)) throw new RangeError(`sampling probability must be in [0, 1], got ${q}`);
  if (!(sigma >= 0)) throw new RangeError(`noise multiplier must be ≥ 0, got ${sigma}`);
  if (!(alpha > 1)) throw new RangeError(`RDP order must be > 1, got ${alpha}`);
  if (q === 0 || sigma === Infinity) return 0;
  if (sigma === 0 || alpha === Infinity) return Infinity;
  if (q === 1) return alpha / (2 * sigma * sigma);
  const logA = Number.isInteger(alpha) ? logAIntegerOrder(q, sigma, alpha) : logAFractionalOrder(q, sigma, alpha);
  // A_α ≥ 1 by Jensen; a rounding-level negative log A must not lower ε.
  return Math.max(0, logA) / (alpha - 1);
}

/**
 * A one-step RDP curve over an order list, filled lazily because the
 * accountant computes only the orders that could be optimal.
 */
export class RdpCurve {
  private readonly values: Float64Array;

  constructor(
    readonly samplingProbability: number,
    readonly noiseMultiplier: number,
    readonly orders: readonly number[],
  ) {
    this.values = new Float64Array(orders.length).fill(Number.NaN);
  }

  /** One-step RDP at orders[index]. */
  at(index: number): number {
    let v = this.values[index] ?? Number.NaN;
    if (Number.isNaN(v)) {
      const alpha = this.orders[index];
      if (alpha === undefined) throw new RangeError(`order index ${index} out of range`);
      v = rdpSubsampledGaussian(this.samplingProbability, this.noiseMultiplier, alpha);
      this.values[index] = v;
      // σ = 0 gives ∞ legitimately; otherwise ∞ means the quadrature gave up.
      if (v === Infinity && this.noiseMultiplier > 0) this.dropped.push(alpha);
    }
    return v;
  }

  /** Orders computed so far that needed too many quadrature nodes (RDP dropped to ∞). */
  readonly dropped: number[] = [];
}

// Curves are cached: a ledger holds thousands of identical rounds, and
// calibration and budget searches revisit the same (q, σ). Bounded so a
// long-running server does not grow.
const CACHE_LIMIT = 512;
const curveCache = new Map<string, RdpCurve>();
const frozenListKeys = new WeakMap<readonly number[], string>();
let nextListId = 0;

/** Frozen lists (the named ones) get a short id; others are keyed by value, since a caller may mutate them. */
function orderListKey(orders: readonly number[]): string {
  if (!Object.isFrozen(orders)) return orders.join(",");
  let key = frozenListKeys.get(orders);
  if (key === undefined) {
    key = `#${nextListId++}`;
    frozenListKeys.set(orders, key);
  }
  return key;
}

/** The (shared, lazily filled) curve for q, σ over an order list. */
export function cachedRdpCurve(q: number, sigma: number, orders: readonly number[]): RdpCurve {
  const key = `${q}|${sigma}|${orderListKey(orders)}`;
  const hit = curveCache.get(key);
  if (hit) {
    curveCache.delete(key);
    curveCache.set(key, hit);
    return hit;
  }
  // A caller's mutable list is copied so later edits cannot desynchronise the cached curve.
  const curve = new RdpCurve(q, sigma, Object.isFrozen(orders) ? orders : Object.freeze([...orders]));
  curveCache.set(key, curve);
  if (curveCache.size > CACHE_LIMIT) {
    const oldest = curveCache.keys().next().value;
    if (oldest !== undefined) curveCache.delete(oldest);
  }
  return curve;
}

/** One-step RDP of the subsampled Gaussian at each order (every order computed). */
export function rdpCurve(q: number, sigma: number, orders: readonly number[]): number[] {
  const curve = cachedRdpCurve(q, sigma, orders);
  return orders.map((_, i) => curve.at(i));
}
