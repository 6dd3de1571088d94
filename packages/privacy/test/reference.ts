/**
 * Loads the reference vectors (computed with Opacus, dp_accounting and
 * TF-Privacy; provenance in test/reference/README.md) and collects the worst
 * errors per vector set so the test run can print them.
 */

import { existsSync, readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** packages/privacy/test/reference/vectors.json, in the repository. */
const VECTORS_URL = new URL("./reference/vectors.json", import.meta.url);

export interface Row {
  [key: string]: unknown;
}

export interface Vectors {
  meta: { orders: Record<string, number[]> };
  epsilon_vectors: Row[];
  epsilon_vectors_integer_orders: Row[];
  rdp_values_single_step: Row[];
  calibration_vectors: Row[];
  fl_full_participation: Row[];
  fl_scenarios: Row[];
  anchors: Row[];
}

let cached: Vectors | undefined;

export function loadVectors(): Vectors {
  if (cached) return cached;
  const path = fileURLToPath(VECTORS_URL);
  if (!existsSync(path)) {
    throw new Error(
      `reference vectors not found at ${path}: the privacy tests need packages/privacy/test/reference/vectors.json (see the README beside it)`,
    );
  }
  cached = JSON.parse(readFileSync(path, "utf8")) as Vectors;
  return cached;
}

/** A numeric field of a reference row (throws if absent, so a renamed field cannot pass silently). */
export function num(row: Row, key: string): number {
  const v = row[key];
  if (typeof v !== "number") throw new Error(`reference row has no number "${key}": ${JSON.stringify(row)}`);
  return v;
}

export function rel(a: number, b: number): number {
  if (a === b) return 0;
  return Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b));
}

/** Worst relative error per vector set, printed once at the end of each test file. */
export class ErrorReport {
  private readonly rows: { set: string; checked: number; worst: number }[] = [];

  add(set: string, checked: number, worst: number): void {
    this.rows.push({ set, checked, worst });
  }

  print(title: string): void {
    const lines = this.rows.map((r) => `  ${r.set.padEnd(64)} ${String(r.checked).padStart(4)} rows  worst rel ${r.worst.toExponential(2)}`);
    console.info(`${title}\n${lines.join("\n")}`);
  }
}
