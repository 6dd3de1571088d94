import { gridFor, type RandomFill } from '@fedward/privacy';
import type { DpReleaseView, DpRoundView, FederationConfig, NamedTensor, PrivacyConfig, PrivacyView } from '@fedward/protocol';
import { chooseVirtualClients } from './adaptive-intermediary';
import {
  DEFAULT_MEDIAN_CAP,
  createDpAggregator,
  createPlainAggregator,
  emptyServerState,
  resolveQuantileRule,
  roundReleases,
  type ClipRule,
  type DpAggregator,
  type PlainAggregator,
  type ServerState,
  type StrategyOption,
} from './dp';
import { PrivacyBudget, type StoredLedgers } from './privacy-budget';

/**
 * Fedward's one round engine: what a round asks for (VN, probe), whether the budget lets it run,
 * the aggregation, the one release point (what leaves aggregation), the ledgers and the next VN.
 * The Socket.io coordinator and the Node simulator both drive it, so a change to clipping, noise,
 * VN or accounting holds in both.
 *
 * Release policy: a DP round's view (stored in SQLite, sent to the admin, logged) holds public
 * settings (C, z, σ, the grid, M, VN, the strategy), the noised releases (the model itself, the
 * quantile rule's count, the adaptive rule's norm sum), post-processing of those (C_{t+1}, λ̃, the
 * next VN) and the ε they cost. No other statistic of the updates is computed.
 */

/** The federation settings the engine needs. */
export type EngineConfig = Pick<FederationConfig, 'privacy' | 'aggregation' | 'personalization'>;

export interface RoundPlan {
  round: number;
  /** N: hospitals taking part (public: the server sees who connects). */
  hospitals: number;
  /** VN asked of every hospital. */
  virtualClients: number;
  /** The adaptive rule's probe: only a noised norm sum is released. */
  probe: boolean;
  /** The releases this round will make (for the budget check, before anything is released). */
  releases: DpReleaseView[];
  allowed: boolean;
  reason: string | null;
}

export interface ClosedRound {
  round: number;
  /** The next global model (a probe round: the old one). */
  weights: NamedTensor[];
  /** The round's public view (null without DP). */
  dp: DpRoundView | null;
  /** Both ledgers after this round, for the same database transaction as the weights. */
  ledgers: StoredLedgers | null;
  serverState: ServerState;
}

export type RoundAggregator = DpAggregator | PlainAggregator;

const vnMode = (p: PrivacyConfig): PrivacyView['virtualClients']['mode'] =>
  p.virtualClients === 'adaptive' ? 'adaptive' : typeof p.virtualClients === 'number' ? 'fixed' : 'heuristic';

/** The spec's data-independent heuristic (§1.5): VN = max(1, ⌊√(z·√d/N)⌋) from z, the model size and N. */
export function heuristicVirtualClients(z: number, dimension: number, hospitals: number): number {
  return Math.max(1, Math.floor(Math.sqrt((z * Math.sqrt(dimension)) / Math.max(1, hospitals))));
}

export class RoundEngine {
  private serverState: ServerState;
  private readonly budget: PrivacyBudget | null;
  private readonly privacy: PrivacyConfig | null;
  /** The adaptive rule's VN for the next round (null until a round chose one). */
  private adaptiveNext: number | null;
  /** DP rounds released so far (the adaptive rule probes before its first). */
  private dpRounds: number;
  /** What `commit` adopts for each closed round. */
  private readonly pending = new WeakMap<ClosedRound, () => void>();

  constructor(
    private readonly config: EngineConfig,
    private readonly dimension: number,
    stored: { serverState?: ServerState | null; ledgers?: unknown; lastDp?: DpRoundView | null; dpRounds?: number } = {},
    private readonly random?: RandomFill,
  ) {
    this.privacy = config.privacy ?? null;
    this.serverState = stored.serverState ?? emptyServerState();
    this.budget = this.privacy ? new PrivacyBudget(this.privacy, stored.ledgers) : null;
    this.adaptiveNext = stored.lastDp?.nextVirtualClients ?? null;
    this.dpRounds = stored.dpRounds ?? 0;
  }

  private get isPrivate(): boolean {
    return this.privacy !== null && (this.privacy.clipRule ?? 'fixed') !== 'median';
  }

  private clipRule(): ClipRule {
    const p = this.privacy!;
    const rule = p.clipRule ?? 'fixed';
    if (rule === 'median') return { kind: 'median', cap: DEFAULT_MEDIAN_CAP };
    if (rule === 'quantile') return { kind: 'quantile', initialClip: p.clipNorm, ...(p.countNoise !== undefined && { countNoise: p.countNoise }) };
    return { kind: 'fixed', clip: p.clipNorm };
  }

  private normSumNoise(): number {
    return this.privacy!.normSumNoise ?? this.privacy!.noiseMultiplier;
  }

  /** VN for a round with N hospitals. */
  private virtualClientsFor(hospitals: number, probe: boolean): number {
    const p = this.privacy!;
    if (typeof p.virtualClients === 'number') return p.virtualClients;
    if (p.virtualClients === 'adaptive') return probe ? 1 : (this.adaptiveNext ?? 1);
    return heuristicVirtualClients(p.noiseMultiplier, this.dimension, hospitals);
  }

  /** The releases a round will make with C for the grid (public: C is a setting or a past release). */
  private plannedReleases(probe: boolean): DpReleaseView[] {
    const p = this.privacy!;
    const rule = this.clipRule();
    const clip = rule.kind === 'fixed' ? rule.clip : rule.kind === 'quantile' ? (this.serverState.clip ?? rule.initialClip) : p.clipNorm;
    return roundReleases({
      z: p.noiseMultiplier,
      bound: gridFor(clip, this.dimension).bound,
      countNoise: rule.kind === 'quantile' ? resolveQuantileRule(rule, p.noiseMultiplier).countNoise : null,
      normSumNoise: p.virtualClients === 'adaptive' ? this.normSumNoise() : null,
      probe,
    });
  }

  /** What round `round` with `hospitals` participants asks for, and whether the budget allows it. */
  plan(round: number, hospitals: number): RoundPlan {
    if (!this.privacy) return { round, hospitals, virtualClients: 1, probe: false, releases: [], allowed: true, reason: null };
    const probe = this.privacy.virtualClients === 'adaptive' && this.dpRounds === 0;
    const virtualClients = this.virtualClientsFor(hospitals, probe);
    const releases = this.plannedReleases(probe);
    if (!this.isPrivate) return { round, hospitals, virtualClients, probe, releases, allowed: true, reason: null };
    const check = this.budget!.check(releases, virtualClients);
    return { round, hospitals, virtualClients, probe, releases, allowed: check.allowed, reason: check.reason };
  }

  /** The round's aggregation: DP on the integer grid, or the plain (non-DP) average. */
  open(plan: RoundPlan, global: readonly NamedTensor[]): RoundAggregator {
    const { aggregation } = this.config;
    const personalized = this.config.personalization && this.config.personalization.strategy !== 'fedavg';
    // Personalized strategies transform the buffered updates themselves; the plain FedAvg here
    // only gives the global model that hospitals outside the round start from.
    const strategy: StrategyOption = personalized
      ? 'fedavg'
      : aggregation?.strategy === 'fedadam'
        ? { kind: 'fedadam', learningRate: aggregation.serverLearningRate ?? 0.003 }
        : (aggregation?.strategy ?? 'fedavg');
    if (!this.privacy) {
      return createPlainAggregator({ global, strategy, serverState: this.serverState, weighting: 'samples', ...(aggregation?.robust && { robust: aggregation.robust }) });
    }
    return createDpAggregator({
      global,
      z: this.privacy.noiseMultiplier,
      clipRule: this.clipRule(),
      strategy,
      serverState: this.serverState,
      // τ̄ is the public step count of a whole hospital's round; VN sub-clients share its data.
      ...(aggregation?.publicSteps !== undefined && { publicSteps: Math.max(1, Math.round(aggregation.publicSteps / plan.virtualClients)) }),
      normSumNoise: this.privacy.virtualClients === 'adaptive' ? this.normSumNoise() : null,
      probe: plan.probe,
      ...(this.random && { random: this.random }),
    });
  }

  /**
   * The one release point: turns the round's aggregation into what leaves it (weights, the public
   * view, the ledgers). Nothing is adopted until `commit` (call it after the database commit).
   */
  close(plan: RoundPlan, aggregator: RoundAggregator): ClosedRound {
    if (!this.privacy) {
      const result = (aggregator as PlainAggregator).result();
      return this.closed(plan.round, result.weights, null, null, result.serverState, null);
    }
    const result = (aggregator as DpAggregator).result();
    const r = result.record;
    const p = this.privacy;
    let adaptive: DpRoundView['adaptive'] = null;
    let next = this.virtualClientsFor(plan.hospitals, false);
    if (p.virtualClients === 'adaptive' && r.noisedNormSum !== null) {
      // λ̃ = (expected ‖noise‖ on the mean)/(noised Σ min(‖Δ_j‖, C)): the noise's norm enters by its
      // public expectation σ√d, never by the draw, which would undo the noise on the weights.
      // (In a probe round nothing was summed; the σ a sum would have had is public all the same.)
      const sumSigma = roundReleases({ z: p.noiseMultiplier, bound: r.grid.bound, countNoise: null, normSumNoise: null, probe: false })[0]!.sigma;
      const expectedNoiseNorm = (sumSigma / (r.grid.scale * r.updates)) * Math.sqrt(this.dimension);
      if (r.noisedNormSum > 0) {
        const d = chooseVirtualClients({ noiseNorm: expectedNoiseNorm, normSum: r.noisedNormSum, hospitals: plan.hospitals, current: plan.virtualClients, rule: p.vnRule ?? 'default' });
        next = Math.min(1000, d.next);
        adaptive = { noisedNormSum: r.noisedNormSum, lambda: d.lambda, v: d.v, next, clamped: d.clamped };
      } else {
        next = plan.virtualClients;
        adaptive = { noisedNormSum: r.noisedNormSum, lambda: Number.POSITIVE_INFINITY, v: Number.POSITIVE_INFINITY, next, clamped: false };
      }
    }
    const label = plan.probe ? 'probe: noised norm sum only' : `discrete Gaussian: ${r.releases.map((x) => x.what).join(' + ')}`;
    const after = this.isPrivate ? this.budget!.afterRound(plan.round, r.releases, plan.virtualClients, label) : null;
    const dp: DpRoundView = {
      mechanism: 'discrete-gaussian',
      private: r.private,
      clipRule: r.clipRule,
      clip: r.clip,
      noiseMultiplier: r.noiseMultiplier,
      grid: { scale: r.grid.scale, bound: r.grid.bound },
      sigma: r.sigma,
      updates: r.updates,
      virtualClients: plan.virtualClients,
      vnRule: vnMode(p),
      strategy: r.strategy,
      tauEff: r.tauEff,
      probe: r.probe,
      releases: r.releases,
      quantile: r.quantile,
      adaptive,
      nextVirtualClients: next,
      epsilon: after ? after.epsilon : null,
    };
    // The probe's model and server-optimizer step do not exist (nothing was summed); its noised
    // quantile count, if any, was accounted, so later rounds may use the C it gives.
    const state = plan.probe ? { ...this.serverState, clip: result.serverState.clip } : result.serverState;
    return this.closed(plan.round, result.weights, dp, after?.json ?? null, state, () => {
      if (after) this.budget!.adopt(after.ledgers);
      if (p.virtualClients === 'adaptive') this.adaptiveNext = next;
      this.dpRounds += 1;
    });
  }

  private closed(round: number, weights: NamedTensor[], dp: DpRoundView | null, ledgers: StoredLedgers | null, serverState: ServerState, adopt: (() => void) | null): ClosedRound {
    const c: ClosedRound = { round, weights, dp, ledgers, serverState };
    if (adopt) this.pending.set(c, adopt);
    return c;
  }

  /** Adopts a closed round (after its database commit). */
  commit(closed: ClosedRound): void {
    this.pending.get(closed)?.();
    this.pending.delete(closed);
    this.serverState = closed.serverState;
  }

  /**
   * ε per patient and per hospital after `rounds` more rounds like the next one with `hospitals`
   * participants (null without DP, or when ε is not finite: the median clip). The adaptive VN rule
   * chooses VN from releases not yet made, so its projection uses the VN of the next round.
   */
  projectedEpsilon(rounds: number, hospitals: number): { patient: number; hospital: number } | null {
    if (!this.privacy || !this.budget || !this.isPrivate) return null;
    const probe = this.privacy.virtualClients === 'adaptive' && this.dpRounds === 0;
    return this.budget.projectRounds(this.plannedReleases(probe), this.virtualClientsFor(Math.max(1, hospitals), probe), rounds);
  }

  /** The privacy budget as the admin sees it, planning the next round for `hospitals` participants. */
  privacyView(hospitals: number): PrivacyView | null {
    if (!this.privacy || !this.budget) return null;
    const probe = this.privacy.virtualClients === 'adaptive' && this.dpRounds === 0;
    const virtualClients = this.virtualClientsFor(Math.max(1, hospitals), probe);
    return this.budget.view({ releases: this.plannedReleases(probe), virtualClients, mode: vnMode(this.privacy) }, this.isPrivate);
  }
}

