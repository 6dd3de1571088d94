/**
 * ε(δ) and δ(ε) of a sequence of DP events, by RDP (default) or GDP.
 * Warnings are returned as data so a server or UI can show or store them.
 */

import { checkDelta, minimiseEpsilon, minimiseLogDelta, type Conversion } from "./conversion";
import { toAtoms, type Atom, type DpEvent } from "./events";
import { gdpDelta, gdpEpsilon } from "./gdp";
import { resolveOrders, type OrdersOption } from "./orders";
import { cachedRdpCurve, type RdpCurve } from "./rdp";
import { erf, ndtr } from "./special";

export type AccountantName = "rdp" | "gdp";

export interface AccountingOptions {
  /** "rdp" (default): Rényi DP of the subsampled Gaussian. "gdp": Gaussian DP (exact without subsampling, CLT with). */
  accountant?: AccountantName;
  /** RDP orders: a named list or explicit orders > 1. Default "dp_accounting". */
  orders?: OrdersOption;
  /** RDP → (ε, δ) conversion. Default "improved". */
  conversion?: Conversion;
}

export type WarningCode =
  /** The optimal RDP order is the smallest or largest of the list: a wider list may give a smaller ε. */
  | "best_order_at_edge"
  /** Some fractional orders needed too many quadrature nodes (σ ≲ 10⁻³) and were left out (ε stays a valid bound). */
  | "orders_dropped"
  /** GDP with subsampling uses a CLT approximation that can underestimate ε. */
  | "gdp_clt_approximation"
  /** RDP has no bound for fixed-size uniform batches here; they are accounted as Poisson sampling with q = batch/n. */
  | "uniform_sampling_as_poisson";

export interface PrivacyWarning {
  code: WarningCode;
  message: string;
  /** The order(s) concerned, for RDP warnings. */
  orders?: number[];
}

interface ReportBase {
  accountant: AccountantName;
  /** Optimal RDP order (RDP only; NaN when every order gives ∞). */
  bestOrder?: number;
  /** Total μ (GDP only). */
  mu?: number;
  warnings: PrivacyWarning[];
}

export interface EpsilonReport extends ReportBase {
  epsilon: number;
  delta: number;
}

export interface DeltaReport extends ReportBase {
  delta: number;
  epsilon: number;
}

/** Settings with defaults filled in and orders resolved, reused across many evaluations. */
export interface ResolvedOptions {
  accountant: AccountantName;
  orders: readonly number[];
  conversion: Conversion;
}

export function resolveOptions(options: AccountingOptions = {}): ResolvedOptions {
  const accountant = options.accountant ?? "rdp";
  if (accountant !== "rdp" && accountant !== "gdp") throw new RangeError(`unknown accountant "${String(accountant)}"`);
  const conversion = options.conversion ?? "improved";
  if (!["improved", "classic", "opacus"].includes(conversion)) throw new RangeError(`unknown conversion "${conversion}"`);
  return { accountant, orders: resolveOrders(options.orders), conversion };
}

// ---------- RDP ----------

interface RdpTotal {
  at: (i: number) => number;
  /** A lower bound on the total RDP at every order (see pinskerLowerBound). */
  floor: number;
  curves: RdpCurve[];
}

/**
 * D_α ≥ KL ≥ 2·TV² (Pinsker) at every order α > 1, and the TV distance of the
 * subsampled Gaussian pair is q·(2Φ(1/(2σ)) − 1) = q·erf(1/(2√2σ)). This
 * cheap bound lets the conversion skip orders that cannot be optimal.
 */
function pinskerLowerBound(atoms: readonly Atom[]): number {
  let sum = 0;
  for (const a of atoms) {
    const tv = a.q * erf(1 / (2 * Math.SQRT2 * a.sigma));
    sum += a.count * 2 * tv * tv;
  }
  return sum;
}

function rdpTotal(atoms: readonly Atom[], orders: readonly number[]): RdpTotal {
  const curves = atoms.map((a) => cachedRdpCurve(a.q, a.sigma, orders));
  const at = (i: number): number => {
    let sum = 0;
    for (let k = 0; k < atoms.length; k++) {
      const count = atoms[k]?.count ?? 0;
      sum += count * (curves[k]?.at(i) ?? NaN);
    }
    return sum;
  };
  return { at, floor: pinskerLowerBound(atoms), curves };
}

/** `edgeMatters`: the optimum is a real trade-off (not ε = 0 from the KL case, not ∞). */
function rdpWarnings(atoms: readonly Atom[], orders: readonly number[], total: RdpTotal, bestIndex: number, edgeMatters: boolean): PrivacyWarning[] {
  const warnings: PrivacyWarning[] = [];
  const bestOrder = orders[bestIndex];
  if (edgeMatters && bestOrder !== undefined) {
    const lo = Math.min(...orders);
    const hi = Math.max(...orders);
    if (bestOrder === lo || bestOrder === hi) {
      warnings.push({
        code: "best_order_at_edge",
        message: `optimal RDP order ${bestOrder} is the ${bestOrder === lo ? "smallest" : "largest"} in the list; extend the list to tighten ε`,
        orders: [bestOrder],
      });
    }
  }
  const dropped = [...new Set(total.curves.flatMap((c) => c.dropped))].sort((a, b) => a - b);
  if (dropped.length > 0) {
    warnings.push({
      code: "orders_dropped",
      message: `RDP at orders ${dropped.join(", ")} was not computed (noise multiplier too small for the quadrature); they were left out (ε is still an upper bound)`,
      orders: dropped,
    });
  }
  if (atoms.some((a) => a.sampling === "uniform")) {
    warnings.push({
      code: "uniform_sampling_as_poisson",
      message: "fixed-size uniform batches are accounted with the Poisson-subsampled RDP at q = batch/n (deepee's RDP fallback), not a proven bound for that sampler",
    });
  }
  return warnings;
}

// ---------- GDP ----------

/**
 * The GDP curve of the discrete Gaussian is not exactly the continuous one (CKS 2020 bound its
 * RDP/zCDP, not its trade-off function), so GDP refuses it rather than report a guess.
 */
function refuseDiscrete(atoms: readonly Atom[]): void {
  if (atoms.some((a) => (a.discreteCount ?? 0) > 0)) {
    throw new RangeError('the discrete Gaussian is accounted with RDP/zCDP; use the rdp accountant (accountant: "rdp")');
  }
}

/** μ² of one run of an atom; μ² adds up under composition (exactly for Gaussians, as the CLT does for subsampled ones). */
function muSquaredPerStep(a: Atom): number {
  const s2 = a.sigma * a.sigma;
  switch (a.sampling) {
    case "none":
      return 1 / s2;
    case "poisson":
      return a.q * a.q * Math.expm1(1 / s2);
    case "uniform": {
      const inner = Math.exp(1 / s2) * ndtr(1.5 / a.sigma) + 3 * ndtr(-0.5 / a.sigma) - 2;
      return 2 * a.q * a.q * inner;
    }
  }
}

function totalMu(atoms: readonly Atom[]): number {
  let m2 = 0;
  for (const a of atoms) if (a.q > 0) m2 += a.count * muSquaredPerStep(a);
  return Math.sqrt(m2);
}

function gdpWarnings(atoms: readonly Atom[]): PrivacyWarning[] {
  if (!atoms.some((a) => a.sampling !== "none" && a.q > 0)) return [];
  return [
    {
      code: "gdp_clt_approximation",
      message: "GDP with subsampling uses the central-limit approximation (Bu et al. 2019), which can underestimate ε for few rounds or small noise; prefer RDP for a guaranteed bound",
    },
  ];
}

// ---------- entry points ----------

/**
 * ε at δ for already-flattened atoms (used by the ledger and the calibration
 * searches). With a finite `ceiling`, an RDP ε above it may be reported
 * larger than it is (never smaller); searches against a target pass one.
 */
export function epsilonForAtoms(atoms: readonly Atom[], delta: number, opts: ResolvedOptions, ceiling = Infinity): EpsilonReport {
  checkDelta(delta);
  if (opts.accountant === "gdp") {
    refuseDiscrete(atoms);
    const mu = totalMu(atoms);
    return { accountant: "gdp", epsilon: gdpEpsilon(mu, delta), delta, mu, warnings: gdpWarnings(atoms) };
  }
  const total = rdpTotal(atoms, opts.orders);
  const best = minimiseEpsilon(opts.orders, total.at, delta, opts.conversion, total.floor, ceiling);
  return {
    accountant: "rdp",
    epsilon: best.value,
    delta,
    bestOrder: opts.orders[best.index] ?? NaN,
    warnings: rdpWarnings(atoms, opts.orders, total, best.index, Number.isFinite(best.value) && best.value > 0),
  };
}

/** δ at ε for already-flattened atoms. */
export function deltaForAtoms(atoms: readonly Atom[], epsilon: number, opts: ResolvedOptions): DeltaReport {
  if (!(epsilon >= 0)) throw new RangeError(`ε must be ≥ 0, got ${epsilon}`);
  if (opts.accountant === "gdp") {
    refuseDiscrete(atoms);
    const mu = totalMu(atoms);
    return { accountant: "gdp", delta: Math.min(1, gdpDelta(epsilon, mu)), epsilon, mu, warnings: gdpWarnings(atoms) };
  }
  const total = rdpTotal(atoms, opts.orders);
  const best = minimiseLogDelta(opts.orders, total.at, epsilon, opts.conversion, total.floor);
  return {
    accountant: "rdp",
    delta: Math.exp(best.value),
    epsilon,
    bestOrder: opts.orders[best.index] ?? NaN,
    warnings: rdpWarnings(atoms, opts.orders, total, best.index, best.value < 0 && best.value > -Infinity),
  };
}

function asList(events: DpEvent | readonly DpEvent[]): readonly DpEvent[] {
  return Array.isArray(events) ? events : [events as DpEvent];
}

/** ε of the composition of `events` at δ. */
export function computeEpsilon(events: DpEvent | readonly DpEvent[], delta: number, options?: AccountingOptions): EpsilonReport {
  return epsilonForAtoms(toAtoms(asList(events)), delta, resolveOptions(options));
}

/** δ of the composition of `events` at ε. */
export function computeDelta(events: DpEvent | readonly DpEvent[], epsilon: number, options?: AccountingOptions): DeltaReport {
  return deltaForAtoms(toAtoms(asList(events)), epsilon, resolveOptions(options));
}
