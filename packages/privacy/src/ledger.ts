/**
 * The privacy ledger: every privacy-relevant event of a study (typically one
 * entry per federated round), its ε/δ by the chosen accountant, and a JSON
 * form for storage. Budget questions ("may round t run?") are pure
 * functions of a ledger, so the server can ask before it spends.
 */

import {
  deltaForAtoms,
  epsilonForAtoms,
  resolveOptions,
  type AccountingOptions,
  type DeltaReport,
  type EpsilonReport,
} from "./accountant";
import { addAtoms, gaussianRounds, parseDpEvent, toAtoms, type Atom, type DpEvent } from "./events";

export interface LedgerEntry {
  event: DpEvent;
  /** Round index, when the entry is a training round. */
  round?: number;
  /** Free text, e.g. the aggregation that produced the event. */
  label?: string;
}

export const LEDGER_FORMAT = "fedward.privacy-ledger";
export const LEDGER_VERSION = 1;

export interface LedgerJson {
  format: typeof LEDGER_FORMAT;
  version: typeof LEDGER_VERSION;
  entries: LedgerEntry[];
}

/** One round (or `count` identical rounds) of a subsampled Gaussian. */
export interface RoundSpec {
  noiseMultiplier: number;
  /** Probability that a client (or record) takes part; 1 = full participation (default). */
  samplingProbability?: number;
  /** "poisson" (default): independent participation. "uniform": fixed-size batches (deepee's sampler). */
  sampling?: "poisson" | "uniform";
  count?: number;
  round?: number;
  label?: string;
}

function parseEntry(input: unknown, path: string): LedgerEntry {
  if (typeof input !== "object" || input === null) throw new TypeError(`invalid ledger entry at ${path}: expected an object`);
  const raw = input as Record<string, unknown>;
  const entry: LedgerEntry = { event: parseDpEvent(raw.event, `${path}.event`) };
  if (raw.round !== undefined) {
    if (!Number.isSafeInteger(raw.round) || (raw.round as number) < 0) {
      throw new TypeError(`invalid ledger entry at ${path}.round: expected an integer ≥ 0`);
    }
    entry.round = raw.round as number;
  }
  if (raw.label !== undefined) {
    if (typeof raw.label !== "string") throw new TypeError(`invalid ledger entry at ${path}.label: expected a string`);
    entry.label = raw.label;
  }
  return entry;
}

export class PrivacyLedger {
  private readonly list: LedgerEntry[] = [];
  /** Atoms merged as entries arrive, so ε of a long ledger costs one curve per distinct (q, σ). */
  private readonly atomsByKey = new Map<string, Atom>();

  constructor(entries: readonly unknown[] = []) {
    entries.forEach((e, i) => this.append(parseEntry(e, `entries[${i}]`)));
  }

  private append(entry: LedgerEntry): void {
    this.list.push(entry);
    addAtoms(this.atomsByKey, entry.event);
  }

  /** Validated copies of the entries, oldest first. */
  get entries(): readonly LedgerEntry[] {
    return this.list;
  }

  /** The composed events as accounting atoms (for the calibration helpers). */
  atoms(): Atom[] {
    return [...this.atomsByKey.values()].map((a) => ({ ...a }));
  }

  /** Appends an event (validated). Mutates this ledger. */
  record(event: DpEvent, meta: { round?: number; label?: string } = {}): this {
    this.append(parseEntry({ ...meta, event }, `entries[${this.list.length}]`));
    return this;
  }

  /** Appends `count` rounds of a Gaussian with noise multiplier z and sampling probability q. */
  recordRound(spec: RoundSpec): this {
    const { round, label, ...event } = spec;
    return this.record(gaussianRounds(event), { round, label });
  }

  /** A new ledger with one more event; this one is unchanged. */
  withEvent(event: DpEvent, meta: { round?: number; label?: string } = {}): PrivacyLedger {
    return new PrivacyLedger(this.list).record(event, meta);
  }

  /** ε at δ of everything recorded. */
  epsilon(delta: number, options?: AccountingOptions): EpsilonReport {
    return epsilonForAtoms(this.atoms(), delta, resolveOptions(options));
  }

  /** δ at ε of everything recorded. */
  delta(epsilon: number, options?: AccountingOptions): DeltaReport {
    return deltaForAtoms(this.atoms(), epsilon, resolveOptions(options));
  }

  toJSON(): LedgerJson {
    return { format: LEDGER_FORMAT, version: LEDGER_VERSION, entries: structuredClone(this.list) };
  }

  /** Rebuilds a ledger from toJSON()'s output (an object or its JSON text), validating every entry. */
  static fromJSON(json: unknown): PrivacyLedger {
    const data: unknown = typeof json === "string" ? JSON.parse(json) : json;
    if (typeof data !== "object" || data === null) throw new TypeError("ledger JSON must be an object");
    const obj = data as Record<string, unknown>;
    if (obj.format !== LEDGER_FORMAT) throw new TypeError(`not a privacy ledger (format ${JSON.stringify(obj.format)})`);
    if (obj.version !== LEDGER_VERSION) throw new TypeError(`unsupported ledger version ${JSON.stringify(obj.version)}`);
    if (!Array.isArray(obj.entries)) throw new TypeError("ledger JSON has no entries array");
    return new PrivacyLedger(obj.entries);
  }
}

/** ε the ledger would reach if `event` were added (the ledger is not changed). */
export function projectEpsilon(ledger: PrivacyLedger, event: DpEvent, delta: number, options?: AccountingOptions): EpsilonReport {
  const atoms = [...ledger.atoms(), ...toAtoms([parseDpEvent(event)])];
  return epsilonForAtoms(atoms, delta, resolveOptions(options));
}

export interface Budget {
  epsilon: number;
  delta: number;
}

export interface BudgetCheck {
  /** True when ε after the event stays within the budget. */
  allowed: boolean;
  /** ε of the ledger as it stands. */
  current: EpsilonReport;
  /** ε with the event added. */
  projected: EpsilonReport;
  /** budget.epsilon − projected ε (negative when the event would overspend). */
  remainingAfter: number;
}

/** Whether `event` fits in the budget: the server calls this before running a round. */
export function checkBudget(ledger: PrivacyLedger, event: DpEvent, budget: Budget, options?: AccountingOptions): BudgetCheck {
  const current = ledger.epsilon(budget.delta, options);
  const projected = projectEpsilon(ledger, event, budget.delta, options);
  return {
    allowed: projected.epsilon <= budget.epsilon,
    current,
    projected,
    remainingAfter: budget.epsilon - projected.epsilon,
  };
}
