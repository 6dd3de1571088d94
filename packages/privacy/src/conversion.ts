/**
 * RDP → (ε, δ) conversions, one candidate per order, minimised over the list.
 *
 * - "improved": Balle et al. 2020 (Thm 21), with dp_accounting's extras: an
 *   order whose RDP is below the KL/TV threshold (δ > √(1 − e^{−r})) gives
 *   ε = 0, orders ≤ 1.01 are unusable, and the result is clamped at 0.
 * - "opacus": the same formula exactly as Opacus applies it (no KL case, no
 *   clamp; ε can come out negative for large δ). For cross-checking only.
 * - "classic": Mironov 2017 Prop. 3, ε = r + ln(1/δ)/(α − 1), as used by
 *   papers before 2020 (McMahan et al. 2018, deepee's RDP fallback).
 */

export type Conversion = "improved" | "classic" | "opacus";

function improvedFormula(alpha: number, r: number, delta: number): number {
  return alpha > 1.01 ? r + Math.log1p(-1 / alpha) - Math.log(delta * alpha) / (alpha - 1) : Infinity;
}

function klCaseApplies(r: number, delta: number): boolean {
  return delta * delta + Math.expm1(-r) > 0;
}

/** ε candidate at one order, from the total RDP r at that order. */
export function epsilonAtOrder(alpha: number, r: number, delta: number, conversion: Conversion): number {
  switch (conversion) {
    case "improved":
      return klCaseApplies(r, delta) ? 0 : improvedFormula(alpha, r, delta);
    case "opacus":
      return r - (Math.log(delta) + Math.log(alpha)) / (alpha - 1) + Math.log((alpha - 1) / alpha);
    case "classic":
      return r - Math.log(delta) / (alpha - 1);
  }
}

/**
 * A lower bound on epsilonAtOrder over all r ≥ rLower. The candidate grows
 * with r, except that the KL case drops it to 0 for tiny r.
 */
function epsilonLowerBound(alpha: number, rLower: number, delta: number, conversion: Conversion): number {
  const atLower = conversion === "improved" ? improvedFormula(alpha, rLower, delta) : epsilonAtOrder(alpha, rLower, delta, conversion);
  return conversion === "improved" && klCaseApplies(rLower, delta) ? Math.min(0, atLower) : atLower;
}

/** log δ candidate at one order for a target ε ("opacus" has no δ(ε); it uses "improved"). */
export function logDeltaAtOrder(alpha: number, r: number, epsilon: number, conversion: Conversion): number {
  if (conversion === "classic") return (r - epsilon) * (alpha - 1);
  const viaKl = 0.5 * Math.log1p(-Math.exp(-r));
  if (!(alpha > 1.01)) return viaKl;
  return Math.min(viaKl, (alpha - 1) * (r - epsilon + Math.log1p(-1 / alpha)) - Math.log(alpha));
}

export interface OrderMinimum {
  value: number;
  /** Index of the optimal order in the caller's list (first one on ties). */
  index: number;
}

/**
 * Lower bounds on L(α) = (α − 1)·r(α) from computed points. L is a cumulant
 * generating function (L(α) = log E[ρ^α] for the privacy-loss ratio ρ), hence
 * convex, with L(1) = 0; a convex function lies above every chord extended
 * beyond its ends. So at α the chords of the two nearest computed points on
 * each side, extended to α, are lower bounds.
 */
class ConvexLowerBound {
  private readonly xs: number[] = [1];
  private readonly ys: number[] = [0];

  /** Number of points strictly left of alpha (binary search; xs is sorted). */
  private leftCount(alpha: number): number {
    let lo = 0;
    let hi = this.xs.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.xs[mid] ?? 0) < alpha) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(alpha: number, l: number): void {
    const k = this.leftCount(alpha);
    if (this.xs[k] === alpha) return;
    this.xs.splice(k, 0, alpha);
    this.ys.splice(k, 0, l);
  }

  /** The chord through points i and j, evaluated at alpha. */
  private chordAt(i: number, j: number, alpha: number): number {
    const x1 = this.xs[i] ?? NaN;
    const y1 = this.ys[i] ?? NaN;
    return y1 + ((alpha - x1) * ((this.ys[j] ?? NaN) - y1)) / ((this.xs[j] ?? NaN) - x1);
  }

  at(alpha: number): number {
    const k = this.leftCount(alpha);
    let bound = -Infinity;
    if (k >= 2) bound = this.chordAt(k - 1, k - 2, alpha);
    // A point exactly at alpha is skipped: the bound is for orders not yet computed.
    const right = this.xs[k] === alpha ? k + 1 : k;
    if (right + 1 < this.xs.length) bound = Math.max(bound, this.chordAt(right, right + 1, alpha));
    return bound;
  }
}

/** Skip an order only if its bound beats the best by more than rounding could explain. */
function clearlyAbove(bound: number, level: number): boolean {
  return bound > level + 1e-10 * Math.abs(level) + 1e-12;
}

/**
 * min over orders of candidate(α, RDP(α)), computing the RDP only at orders
 * that could win (branch and bound). Integer orders (exact finite sums, cheap
 * when small) go first, smallest up, so the large ones (sums of up to 1024
 * terms) are usually bounded out; then fractional orders (quadrature) in order of
 * increasing lower bound, until no remaining bound is below min(best so far,
 * ceiling). Bounds on r(α) come from `rdpFloor` (valid at every order) and
 * from convexity (ConvexLowerBound); `candidateLowerBound` turns them into
 * bounds on the candidate. Skipping can only raise the result, never lower
 * it, so these bounds cannot make ε smaller than the true minimum. With a
 * finite ceiling the result is exact when the minimum is ≤ ceiling, and
 * otherwise some value ≥ the minimum (still > ceiling): all that a search
 * against a target needs.
 */
function minimiseOverOrders(
  orders: readonly number[],
  rdpAt: (i: number) => number,
  candidate: (alpha: number, r: number) => number,
  candidateLowerBound: (alpha: number, rLower: number) => number,
  rdpFloor: number,
  ceiling: number,
): OrderMinimum {
  let value = Infinity;
  let index = -1;
  const hull = new ConvexLowerBound();
  const boundAt = (alpha: number): number => candidateLowerBound(alpha, Math.max(rdpFloor, hull.at(alpha) / (alpha - 1)));
  const evaluate = (i: number, alpha: number): void => {
    const r = rdpAt(i);
    let v = candidate(alpha, r);
    if (Number.isNaN(v)) v = Infinity;
    if (index < 0 || v < value || (v === value && i < index)) {
      value = v;
      index = i;
    }
    if (Number.isFinite(r)) hull.add(alpha, (alpha - 1) * r);
  };

  const integers: number[] = [];
  const fractional: number[] = [];
  orders.forEach((alpha, i) => (Number.isInteger(alpha) ? integers : fractional).push(i));
  integers.sort((i, j) => (orders[i] ?? 0) - (orders[j] ?? 0));
  for (const i of integers) {
    const alpha = orders[i] ?? NaN;
    if (index >= 0 && clearlyAbove(boundAt(alpha), Math.min(value, ceiling))) continue;
    evaluate(i, alpha);
  }
  let remaining = fractional;
  while (remaining.length > 0) {
    let pick = -1;
    let pickBound = Infinity;
    for (const i of remaining) {
      const b = index >= 0 ? boundAt(orders[i] ?? NaN) : -Infinity;
      if (pick < 0 || b < pickBound) {
        pick = i;
        pickBound = b;
      }
    }
    if (index >= 0 && clearlyAbove(pickBound, Math.min(value, ceiling))) break;
    evaluate(pick, orders[pick] ?? NaN);
    remaining = remaining.filter((i) => i !== pick);
  }
  return { value, index };
}

/**
 * ε from a (total) RDP curve given as a function of the order index, so
 * expensive orders are only computed when they could be optimal.
 * `rdpFloor` must be ≤ the RDP at every order (0 is always valid);
 * `ceiling` is explained at minimiseOverOrders.
 */
export function minimiseEpsilon(
  orders: readonly number[],
  rdpAt: (i: number) => number,
  delta: number,
  conversion: Conversion,
  rdpFloor = 0,
  ceiling = Infinity,
): OrderMinimum {
  const res = minimiseOverOrders(
    orders,
    rdpAt,
    (alpha, r) => epsilonAtOrder(alpha, r, delta, conversion),
    (alpha, rLower) => epsilonLowerBound(alpha, rLower, delta, conversion),
    rdpFloor,
    ceiling,
  );
  return conversion === "improved" ? { value: Math.max(0, res.value), index: res.index } : res;
}

/** log δ from a (total) RDP curve; see minimiseEpsilon. */
export function minimiseLogDelta(
  orders: readonly number[],
  rdpAt: (i: number) => number,
  epsilon: number,
  conversion: Conversion,
  rdpFloor = 0,
): OrderMinimum {
  // Every log δ candidate grows with r, so its value at a lower bound of r bounds it.
  const logDelta = (alpha: number, r: number) => logDeltaAtOrder(alpha, r, epsilon, conversion);
  const res = minimiseOverOrders(orders, rdpAt, logDelta, logDelta, rdpFloor, Infinity);
  return { value: Math.min(0, res.value), index: res.index };
}

/** ε and the optimal order from RDP values given at every order. */
export function rdpToEpsilon(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  delta: number,
  conversion: Conversion = "improved",
): { epsilon: number; bestOrder: number } {
  checkCurve(orders, rdp);
  checkDelta(delta);
  const { value, index } = minimiseEpsilon(orders, (i) => rdp[i] ?? NaN, delta, conversion);
  return { epsilon: value, bestOrder: orders[index] ?? NaN };
}

/** δ and the optimal order from RDP values given at every order. */
export function rdpToDelta(
  orders: readonly number[],
  rdp: ArrayLike<number>,
  epsilon: number,
  conversion: Conversion = "improved",
): { delta: number; bestOrder: number } {
  checkCurve(orders, rdp);
  if (!(epsilon >= 0)) throw new RangeError(`ε must be ≥ 0, got ${epsilon}`);
  const { value, index } = minimiseLogDelta(orders, (i) => rdp[i] ?? NaN, epsilon, conversion);
  return { delta: Math.exp(value), bestOrder: orders[index] ?? NaN };
}

function checkCurve(orders: readonly number[], rdp: ArrayLike<number>): void {
  if (orders.length === 0 || orders.length !== rdp.length) throw new RangeError("orders and RDP values must be non-empty and of equal length");
  for (let i = 0; i < rdp.length; i++) {
    if (!((rdp[i] ?? NaN) >= 0)) throw new RangeError(`RDP values must be ≥ 0 (got ${rdp[i]} at order ${orders[i]})`);
    if (!((orders[i] ?? NaN) > 1)) throw new RangeError(`RDP orders must be > 1 (got ${orders[i]})`);
  }
}

export function checkDelta(delta: number): void {
  if (!(delta > 0 && delta < 1)) throw new RangeError(`δ must be in (0, 1), got ${delta}`);
}
