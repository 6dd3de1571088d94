import { PrivacyLedger, checkBudget, type AccountingOptions, type DpEvent } from '@fedward/privacy';
import type { DpReleaseView, PrivacyConfig, PrivacyView } from '@fedward/protocol';

/** What SQLite keeps next to each DP round: both ledgers as JSON. */
export interface StoredLedgers {
  format: 'fedward.ledgers.v2';
  patient: unknown;
  hospital: unknown;
}

/**
 * The neighbouring relations the two ledgers cover. Patients are assigned to sub-clients by a
 * keyed hash, so one patient's slices sit in exactly one of their hospital's VN sub-clients, and
 * every hospital sends exactly VN updates whatever its data.
 */
export const RELATIONS = {
  patient:
    'add or remove all slices of one patient at one hospital: they sit in one sub-client, whose update may change arbitrarily within the clip bound (a hospital without patient ids: one slice)',
  hospital: 'change anything in the data of one hospital: all VN of its updates may change arbitrarily within the clip bound',
} as const;

export type Relation = keyof typeof RELATIONS;

/**
 * One round's releases as DP events, per relation. Each release is a discrete Gaussian with
 * integer noise std σ on a statistic that ONE replaced update moves by at most `perUpdate`; one
 * patient touches one update, one hospital VN of them, so the multipliers are σ/perUpdate and
 * σ/(VN·perUpdate). The releases of a round compose (RDP adds).
 */
export function roundEvents(releases: readonly DpReleaseView[], virtualClients: number): Record<Relation, DpEvent> {
  const event = (updates: number): DpEvent => ({
    type: 'composed',
    events: releases.map((r) => ({ type: 'discrete_gaussian', noiseMultiplier: r.sigma / (updates * r.perUpdate) })),
  });
  return { patient: event(1), hospital: event(virtualClients) };
}

const isStored = (x: unknown): x is StoredLedgers =>
  typeof x === 'object' && x !== null && (x as { format?: unknown }).format === 'fedward.ledgers.v2';

/**
 * The federation's two privacy ledgers, per patient and per hospital. The budget guards the
 * configured relation; both are reported.
 */
export class PrivacyBudget {
  private ledgers: Record<Relation, PrivacyLedger>;
  private readonly options: AccountingOptions;

  constructor(
    private readonly config: PrivacyConfig,
    stored?: unknown,
  ) {
    if (stored != null && !isStored(stored)) {
      throw new Error(
        'this database holds DP rounds accounted by an earlier Fedward (floating-point noise, per sub-client); their ε is not a guarantee. Start the federation on a new database (--db).',
      );
    }
    this.ledgers = {
      patient: stored ? PrivacyLedger.fromJSON(stored.patient) : new PrivacyLedger(),
      hospital: stored ? PrivacyLedger.fromJSON(stored.hospital) : new PrivacyLedger(),
    };
    this.options = { accountant: config.accountant };
  }

  /** ε per relation after the given events were added (null events: nothing more). */
  private projected(events: Record<Relation, DpEvent> | null) {
    const budget = { epsilon: this.config.targetEpsilon, delta: this.config.delta };
    const one = (r: Relation) => checkBudget(this.ledgers[r], events?.[r] ?? { type: 'composed', events: [] }, budget, this.options);
    return { patient: one('patient'), hospital: one('hospital') };
  }

  /** May a round with these planned releases run? Answered before anything is released. */
  check(releases: readonly DpReleaseView[], virtualClients: number): { allowed: boolean; patient: number; hospital: number; reason: string | null } {
    const p = this.projected(roundEvents(releases, virtualClients));
    const guarded = p[this.config.unit];
    return {
      allowed: guarded.allowed,
      patient: p.patient.projected.epsilon,
      hospital: p.hospital.projected.epsilon,
      reason: guarded.allowed
        ? null
        : `privacy budget: the next round would bring ε per ${this.config.unit} to ${guarded.projected.epsilon.toFixed(3)}, past the target ${this.config.targetEpsilon} (δ = ${this.config.delta})`,
    };
  }

  /**
   * ε per relation after `rounds` more rounds that each release `releases` with `virtualClients`
   * updates per hospital, from the ledgers as they are (calibration and the hospitals' study plan).
   */
  projectRounds(releases: readonly DpReleaseView[], virtualClients: number, rounds: number): Record<Relation, number> {
    const each = roundEvents(releases, virtualClients);
    const many = (r: Relation): DpEvent => ({ type: 'composed', events: Array.from({ length: rounds }, () => each[r]) });
    const budget = { epsilon: this.config.targetEpsilon, delta: this.config.delta };
    const one = (r: Relation) => checkBudget(this.ledgers[r], many(r), budget, this.options).projected.epsilon;
    return { patient: one('patient'), hospital: one('hospital') };
  }

  /** The ledgers as they will be once this round is released; adopt them after the database commit. */
  afterRound(round: number, releases: readonly DpReleaseView[], virtualClients: number, label: string) {
    const events = roundEvents(releases, virtualClients);
    const ledgers = {
      patient: this.ledgers.patient.withEvent(events.patient, { round, label }),
      hospital: this.ledgers.hospital.withEvent(events.hospital, { round, label: `${label}; ${virtualClients} update(s) per hospital` }),
    };
    const json: StoredLedgers = { format: 'fedward.ledgers.v2', patient: ledgers.patient.toJSON(), hospital: ledgers.hospital.toJSON() };
    return {
      ledgers,
      json,
      epsilon: {
        patient: ledgers.patient.epsilon(this.config.delta, this.options).epsilon,
        hospital: ledgers.hospital.epsilon(this.config.delta, this.options).epsilon,
      },
    };
  }

  adopt(ledgers: Record<Relation, PrivacyLedger>): void {
    this.ledgers = ledgers;
  }

  /** The budget as the admin sees it, given the next round's plan (null: none can be planned yet). */
  view(next: { releases: readonly DpReleaseView[]; virtualClients: number; mode: PrivacyView['virtualClients']['mode'] }, isPrivate: boolean): PrivacyView {
    const spent = (r: Relation) => (this.ledgers[r].entries.length ? this.ledgers[r].epsilon(this.config.delta, this.options) : null);
    const sp = spent('patient');
    const sh = spent('hospital');
    const check = this.check(next.releases, next.virtualClients);
    return {
      unit: this.config.unit,
      targetEpsilon: this.config.targetEpsilon,
      delta: this.config.delta,
      accountant: this.config.accountant,
      noiseMultiplier: this.config.noiseMultiplier,
      clipNorm: this.config.clipNorm,
      clipRule: this.config.clipRule ?? 'fixed',
      mechanism: 'discrete-gaussian',
      private: isPrivate,
      relations: { ...RELATIONS },
      virtualClients: { mode: next.mode, next: next.virtualClients },
      spent: isPrivate ? { patient: sp?.epsilon ?? 0, hospital: sh?.epsilon ?? 0 } : null,
      next: isPrivate ? { patient: check.patient, hospital: check.hospital, allowed: check.allowed } : null,
      warnings: [...new Set([...(sp?.warnings ?? []), ...(sh?.warnings ?? [])].map((w) => w.message))],
    };
  }
}
