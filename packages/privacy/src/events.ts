/**
 * Privacy events in the style of Google's dp_accounting (dp_event.py): a
 * mechanism, optionally subsampled, and compositions of events. Events are
 * plain JSON-serialisable objects.
 */

export type DpEvent =
  /** The Gaussian mechanism; noiseMultiplier = noise std / L2 sensitivity. */
  | { type: "gaussian"; noiseMultiplier: number }
  /**
   * The discrete Gaussian N_Z(0, S) added to an integer-valued query of L2 sensitivity Δ;
   * noiseMultiplier = √S/Δ. It is ρ-zCDP with ρ = Δ²/(2S) (Canonne, Kamath, Steinke 2020,
   * Prop. 5 / Thm. 14–15), the RDP curve α/(2z²) of a Gaussian with the same multiplier, so
   * the RDP accountant treats it as one. It is not subsamplable here, and GDP refuses it.
   */
  | { type: "discrete_gaussian"; noiseMultiplier: number }
  /** Each record (or client) takes part independently with probability samplingProbability. */
  | { type: "poisson_sampled"; samplingProbability: number; event: DpEvent }
  /**
   * A fixed-size batch of samplingProbability·n records drawn uniformly
   * without replacement (deepee's sampler: every batch drawn independently).
   */
  | { type: "uniform_sampled"; samplingProbability: number; event: DpEvent }
  /** The same event repeated `count` times. */
  | { type: "self_composed"; count: number; event: DpEvent }
  | { type: "composed"; events: DpEvent[] };

export type Sampling = "none" | "poisson" | "uniform";

/** The accountable unit: `count` runs of a (possibly subsampled) Gaussian. */
export interface Atom {
  sampling: Sampling;
  /** 1 when sampling is "none". */
  q: number;
  sigma: number;
  count: number;
  /**
   * How many of the `count` runs are discrete Gaussians (same RDP curve as the Gaussian at
   * this σ, so they share the atom; GDP refuses atoms with any). Absent means 0.
   */
  discreteCount?: number;
}

/** Builds the event of `count` rounds of a Gaussian at noise multiplier z with sampling probability q. */
export function gaussianRounds(options: {
  noiseMultiplier: number;
  samplingProbability?: number;
  sampling?: "poisson" | "uniform";
  count?: number;
}): DpEvent {
  const { noiseMultiplier, samplingProbability = 1, sampling = "poisson", count = 1 } = options;
  const gaussian: DpEvent = { type: "gaussian", noiseMultiplier };
  const sampled: DpEvent =
    samplingProbability === 1
      ? gaussian
      : { type: sampling === "poisson" ? "poisson_sampled" : "uniform_sampled", samplingProbability, event: gaussian };
  const event: DpEvent = count === 1 ? sampled : { type: "self_composed", count, event: sampled };
  return parseDpEvent(event);
}

/**
 * Builds the event of `count` releases of a discrete Gaussian with noise multiplier z = √S/Δ
 * (S from discreteGaussianParameters, Δ the integer L2 sensitivity). Not subsampled.
 */
export function discreteGaussianRounds(options: { noiseMultiplier: number; count?: number }): DpEvent {
  const { noiseMultiplier, count = 1 } = options;
  const discrete: DpEvent = { type: "discrete_gaussian", noiseMultiplier };
  return parseDpEvent(count === 1 ? discrete : { type: "self_composed", count, event: discrete });
}

function fail(path: string, message: string): never {
  throw new TypeError(`invalid DP event at ${path}: ${message}`);
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}

function field(obj: Record<string, unknown>, key: string, path: string, check: (v: number) => boolean, what: string): number {
  const v = obj[key];
  if (typeof v !== "number" || !check(v)) fail(`${path}.${key}`, `expected ${what}, got ${JSON.stringify(v)}`);
  return v;
}

/**
 * Validates an event (for example one read back from JSON) and returns a
 * normalised copy. Subsampling is supported around a Gaussian only, as in
 * dp_accounting's RDP accountant (not around a discrete Gaussian).
 */
export function parseDpEvent(input: unknown, path = "event"): DpEvent {
  if (!isRecord(input)) fail(path, "expected an object");
  switch (input.type) {
    case "gaussian":
      return { type: "gaussian", noiseMultiplier: field(input, "noiseMultiplier", path, (v) => v >= 0, "a number ≥ 0") };
    case "discrete_gaussian":
      return { type: "discrete_gaussian", noiseMultiplier: field(input, "noiseMultiplier", path, (v) => v >= 0, "a number ≥ 0") };
    case "poisson_sampled":
    case "uniform_sampled": {
      const samplingProbability = field(input, "samplingProbability", path, (v) => v >= 0 && v <= 1, "a probability in [0, 1]");
      const inner = parseDpEvent(input.event, `${path}.event`);
      if (inner.type === "discrete_gaussian") {
        fail(`${path}.event`, "a discrete Gaussian cannot be subsampled here (no subsampled RDP bound for it is implemented)");
      }
      if (inner.type !== "gaussian") fail(`${path}.event`, "only a Gaussian event can be subsampled");
      return { type: input.type, samplingProbability, event: inner };
    }
    case "self_composed": {
      const count = field(input, "count", path, (v) => Number.isSafeInteger(v) && v >= 0, "an integer ≥ 0");
      return { type: "self_composed", count, event: parseDpEvent(input.event, `${path}.event`) };
    }
    case "composed": {
      if (!Array.isArray(input.events)) fail(`${path}.events`, "expected an array");
      return { type: "composed", events: input.events.map((e, i) => parseDpEvent(e, `${path}.events[${i}]`)) };
    }
    default:
      return fail(`${path}.type`, `unknown event type ${JSON.stringify(input.type)}`);
  }
}

/** Key under which identical atoms are merged (Gaussian and discrete Gaussian runs alike). */
function atomKey(a: Omit<Atom, "count" | "discreteCount">): string {
  return `${a.sampling}|${a.q}|${a.sigma}`;
}

/** Adds `times` runs of `event` to a map of merged atoms (see toAtoms). */
export function addAtoms(into: Map<string, Atom>, event: DpEvent, times = 1): void {
  switch (event.type) {
    case "composed":
      for (const inner of event.events) addAtoms(into, inner, times);
      return;
    case "self_composed":
      addAtoms(into, event.event, times * event.count);
      return;
    default: {
      if (times === 0) return;
      const atom = atomOf(event);
      const key = atomKey(atom);
      const discrete = event.type === "discrete_gaussian" ? times : 0;
      const seen = into.get(key);
      if (seen) {
        seen.count += times;
        if (discrete > 0) seen.discreteCount = (seen.discreteCount ?? 0) + discrete;
      } else into.set(key, discrete > 0 ? { ...atom, count: times, discreteCount: discrete } : { ...atom, count: times });
    }
  }
}

/**
 * Flattens events into atoms, merging identical (sampling, q, σ) so that a
 * ledger of 10⁴ identical rounds costs one RDP curve.
 */
export function toAtoms(events: readonly DpEvent[]): Atom[] {
  const merged = new Map<string, Atom>();
  for (const e of events) addAtoms(merged, e);
  return [...merged.values()];
}

function atomOf(e: DpEvent): Omit<Atom, "count" | "discreteCount"> {
  // A discrete Gaussian has the RDP curve of the Gaussian with the same multiplier: same atom.
  if (e.type === "gaussian" || e.type === "discrete_gaussian") return { sampling: "none", q: 1, sigma: e.noiseMultiplier };
  if ((e.type === "poisson_sampled" || e.type === "uniform_sampled") && e.event.type === "gaussian") {
    // Sampling everyone is no subsampling; GDP then uses the exact μ, not the CLT.
    if (e.samplingProbability === 1) return { sampling: "none", q: 1, sigma: e.event.noiseMultiplier };
    return { sampling: e.type === "poisson_sampled" ? "poisson" : "uniform", q: e.samplingProbability, sigma: e.event.noiseMultiplier };
  }
  throw new TypeError(`unsupported event ${JSON.stringify(e)}; validate events with parseDpEvent`);
}
