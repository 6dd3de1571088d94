/**
 * `privacy batch`: one JSON request per input line, one JSON answer per
 * output line, in order, for comparing Fedward's accountants with others
 * (Opacus, dp_accounting, TF-Privacy). A bad line is answered with
 * {"error": ...}; it never stops the batch.
 */

import { z } from "zod";
import { calibrateNoiseMultiplier, computeEpsilon, gaussianRounds, type PrivacyWarning } from "../src/index";

const common = {
  /** Echoed back, to match answers to requests. */
  id: z.union([z.string(), z.number()]).optional(),
  accountant: z.enum(["rdp", "gdp"]).default("rdp"),
  q: z.number().min(0).max(1),
  steps: z.number().int().min(1),
  delta: z.number().gt(0).lt(1),
  orders: z.enum(["dp_accounting", "opacus", "tf_privacy"]).default("dp_accounting"),
  sampling: z.enum(["poisson", "uniform"]).default("poisson"),
  conversion: z.enum(["improved", "classic", "opacus"]).default("improved"),
};

const epsilonRequest = z.strictObject({ ...common, sigma: z.number().min(0) });
const calibrationRequest = z.strictObject({ ...common, calibrate: z.literal(true), epsilon: z.number().gt(0) });

type Answer = Record<string, unknown>;

/** JSON has no ∞: like the reference vectors, write null plus a "<field>_nonfinite" marker. */
function putNumber(out: Answer, key: string, value: number): void {
  if (Number.isFinite(value)) out[key] = value;
  else {
    out[key] = null;
    out[`${key}_nonfinite`] = Number.isNaN(value) ? "nan" : value > 0 ? "inf" : "-inf";
  }
}

function warningCodes(warnings: PrivacyWarning[]): string[] {
  return warnings.map((w) => w.code);
}

function answer(request: unknown): Answer {
  if (typeof request === "object" && request !== null && "calibrate" in request) {
    const r = calibrationRequest.parse(request);
    const res = calibrateNoiseMultiplier({
      epsilon: r.epsilon,
      delta: r.delta,
      steps: r.steps,
      samplingProbability: r.q,
      sampling: r.sampling,
      accountant: r.accountant,
      orders: r.orders,
      conversion: r.conversion,
    });
    const out: Answer = r.id === undefined ? {} : { id: r.id };
    putNumber(out, "sigma", res.noiseMultiplier);
    putNumber(out, "epsilon_at_sigma", res.epsilon);
    out.warnings = warningCodes(res.warnings);
    return out;
  }
  const r = epsilonRequest.parse(request);
  const event = gaussianRounds({ noiseMultiplier: r.sigma, samplingProbability: r.q, sampling: r.sampling, count: r.steps });
  const rep = computeEpsilon(event, r.delta, { accountant: r.accountant, orders: r.orders, conversion: r.conversion });
  const out: Answer = r.id === undefined ? {} : { id: r.id };
  putNumber(out, "epsilon", rep.epsilon);
  if (rep.bestOrder !== undefined) putNumber(out, "best_order", rep.bestOrder);
  if (rep.mu !== undefined) putNumber(out, "mu", rep.mu);
  out.warnings = warningCodes(rep.warnings);
  return out;
}

function describe(err: unknown): string {
  if (err instanceof z.ZodError) {
    return err.issues.map((i) => `${i.path.length > 0 ? i.path.join(".") : "request"}: ${i.message}`).join("; ");
  }
  return err instanceof Error ? err.message : String(err);
}

/** The answer line (without newline) for one input line, or null for a blank line. */
export function handleBatchLine(line: string): string | null {
  if (line.trim() === "") return null;
  try {
    return JSON.stringify(answer(JSON.parse(line)));
  } catch (err) {
    return JSON.stringify({ error: describe(err) });
  }
}
