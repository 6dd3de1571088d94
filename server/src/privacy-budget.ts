import { PrivacyLedger, checkBudget, gaussianRounds, type AccountingOptions } from '@fedward/privacy';
import type { PrivacyConfig, PrivacyView } from '@fedward/protocol';

export interface StoredLedgers {
  subClient: unknown;
  hospital: unknown;
}

/**
 * Two ledgers for one federation: per sub-client, and per hospital. A hospital that sends VN
 * clipped updates moves the average by up to VN·C/M, so for the hospital the same round is a
 * Gaussian with noise multiplier z/VN. With VN = 1 (no sub-clients) the two coincide. Every
 * round is full participation (q = 1): each hospital's data is in every round it joins.
 */
export class PrivacyBudget {
  private subClient: PrivacyLedger;
  private hospital: PrivacyLedger;
  private readonly options: AccountingOptions;

  constructor(
    private readonly config: PrivacyConfig,
    stored?: StoredLedgers | null,
  ) {
    this.subClient = stored ? PrivacyLedger.fromJSON(stored.subClient) : new PrivacyLedger();
    this.hospital = stored ? PrivacyLedger.fromJSON(stored.hospital) : new PrivacyLedger();
    this.options = { accountant: config.accountant };
  }

  private events(virtualClients: number) {
    return {
      subClient: gaussianRounds({ noiseMultiplier: this.config.noiseMultiplier }),
      hospital: gaussianRounds({ noiseMultiplier: this.config.noiseMultiplier / virtualClients }),
    };
  }

  /** May the next round run? The answer is computed before anything is released. */
  check(virtualClients = 1): { allowed: boolean; subClient: number; hospital: number; reason: string | null } {
    const e = this.events(virtualClients);
    const budget = { epsilon: this.config.targetEpsilon, delta: this.config.delta };
    const sub = checkBudget(this.subClient, e.subClient, budget, this.options);
    const hosp = checkBudget(this.hospital, e.hospital, budget, this.options);
    const guarded = this.config.unit === 'hospital' ? hosp : sub;
    const projected = guarded.projected.epsilon;
    return {
      allowed: guarded.allowed,
      subClient: sub.projected.epsilon,
      hospital: hosp.projected.epsilon,
      reason: guarded.allowed
        ? null
        : `privacy budget: the next round would bring ε per ${this.config.unit} to ${projected.toFixed(3)}, past the target ${this.config.targetEpsilon} (δ = ${this.config.delta})`,
    };
  }

  /** The ledgers as they will be once this round is released; adopt them after the database commit. */
  afterRound(round: number, virtualClients = 1): { ledgers: { subClient: PrivacyLedger; hospital: PrivacyLedger }; json: StoredLedgers; epsilon: { subClient: number; hospital: number } } {
    const e = this.events(virtualClients);
    const subClient = this.subClient.withEvent(e.subClient, { round, label: 'dp-fedavg' });
    const hospital = this.hospital.withEvent(e.hospital, { round, label: `dp-fedavg, ${virtualClients} sub-client(s)` });
    return {
      ledgers: { subClient, hospital },
      json: { subClient: subClient.toJSON(), hospital: hospital.toJSON() },
      epsilon: {
        subClient: subClient.epsilon(this.config.delta, this.options).epsilon,
        hospital: hospital.epsilon(this.config.delta, this.options).epsilon,
      },
    };
  }

  adopt(ledgers: { subClient: PrivacyLedger; hospital: PrivacyLedger }): void {
    this.subClient = ledgers.subClient;
    this.hospital = ledgers.hospital;
  }

  /** The budget as the admin sees it; `virtualClients` is the VN the next round will ask for. */
  view(virtualClients = 1): PrivacyView {
    const spentSub = this.subClient.entries.length ? this.subClient.epsilon(this.config.delta, this.options) : null;
    const spentHosp = this.hospital.entries.length ? this.hospital.epsilon(this.config.delta, this.options) : null;
    const next = this.check(virtualClients);
    const warnings = [...(spentSub?.warnings ?? []), ...(spentHosp?.warnings ?? [])].map((w) => w.message);
    return {
      unit: this.config.unit,
      targetEpsilon: this.config.targetEpsilon,
      delta: this.config.delta,
      accountant: this.config.accountant,
      noiseMultiplier: this.config.noiseMultiplier,
      clipNorm: this.config.clipNorm,
      clipRule: this.config.clipRule ?? 'fixed',
      virtualClients: { mode: this.config.virtualClients === 'adaptive' ? 'adaptive' : 'fixed', next: virtualClients },
      spent: { subClient: spentSub?.epsilon ?? 0, hospital: spentHosp?.epsilon ?? 0 },
      next: { subClient: next.subClient, hospital: next.hospital, allowed: next.allowed },
      warnings: [...new Set(warnings)],
    };
  }
}
