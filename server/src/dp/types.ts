import type { NamedTensor } from '@fedward/protocol';

/**
 * Types of Fedward's server-side aggregation library (seed spec §1.4 and §1.6; Andrew et al.
 * 2021 for the private quantile clip). Everything here is plain data: no TF.js, no I/O.
 */

export type ClipRuleName = 'fixed' | 'median' | 'quantile';
export type StrategyName = 'fedavg' | 'fedadam' | 'fednova';

/** Clip every update to one bound C chosen in advance. Private. */
export interface FixedClipRule {
  kind: 'fixed';
  clip: number;
}

/**
 * The seed's `--adaclip`: C = min(lower median of this round's RAW update norms, cap). The
 * median is released without noise (σ is scaled to it), so the round LEAKS: the record says
 * `leaking: true`. It needs every norm before it can clip, so the round's updates are buffered:
 * memory O(M·d) float32.
 */
export interface MedianClipRule {
  kind: 'median';
  /** Upper bound on C (the seed's 25). */
  cap?: number;
}

/**
 * Private adaptive clipping (Andrew et al. 2021, "Differentially private learning with adaptive
 * clipping"), streaming: clip to the current C_t, count b = #{‖Δ_j‖ ≤ C_t}, release the count with
 * its own discrete Gaussian noise, b̃ = b + N_Z(0, σ_b²), and move C_{t+1} = C_t·exp(−η(clamp(b̃/M,
 * 0, 1) − γ)). M (the number of updates) is public, so the denominator adds nothing. One update
 * flips its indicator by 1, so the count has sensitivity 1 per update; the ledger enters it as its
 * own event next to the update release.
 */
export interface QuantileClipRule {
  kind: 'quantile';
  /** C_0, used until the server state carries a C_t. */
  initialClip: number;
  /** γ, the quantile of the update norms that C tracks (default 0.5). */
  targetQuantile?: number;
  /** η, the geometric step (default 0.2). */
  learningRate?: number;
  /** σ_b, std of the integer noise on the count (default: z, i.e. the count costs a quarter of the update release per patient). */
  countNoise?: number;
}

export type ClipRule = FixedClipRule | MedianClipRule | QuantileClipRule;

/** θ ← θ + A. */
export interface FedAvgStrategy {
  kind: 'fedavg';
}
/**
 * Server Adam on the (noised) average A, the seed's `dp_adam_trainer` (no bias correction):
 * m ← β₁m + (1−β₁)A; v ← β₂v + (1−β₂)A²; θ ← θ + η_s·m/(√v + ε). m and v live in the server state.
 */
export interface FedAdamStrategy {
  kind: 'fedadam';
  /** η_s (the seed's `--adam_lr`: ICH 0.003, prostate 0.03). */
  learningRate: number;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
}
/**
 * FedNova (the seed's `dp_nova_trainer`): each update is divided by its local step count τ_j
 * before norms and clipping, and A = τ_eff·(clipped mean + noise), τ_eff = Σ_j w_j·τ_j; θ ← θ + A.
 */
export interface FedNovaStrategy {
  kind: 'fednova';
}
export type Strategy = FedAvgStrategy | FedAdamStrategy | FedNovaStrategy;
/** A strategy, or its name ('fedadam' alone means η_s = DEFAULT_SERVER_LEARNING_RATE). */
export type StrategyOption = StrategyName | Strategy;

/**
 * What survives between rounds on the server (and across restarts: see `encodeServerState`).
 * Immutable by convention: `result()` returns a new state and never touches the one it got, so a
 * caller can drop a round's state (the adaptive probe round) simply by not adopting it.
 */
export interface ServerState {
  /** Rounds whose result produced this state. */
  rounds: number;
  /** The quantile rule's C_t for the next round (null until a quantile round ran). */
  clip: number | null;
  /** FedAdam's moments, one tensor per model tensor (null until a FedAdam round ran). */
  adam: { m: NamedTensor[]; v: NamedTensor[] } | null;
}

/** Per-update facts the aggregator may need besides the weights. */
export interface UpdateInfo {
  /** Local optimizer steps this update took: FedNova's τ_j (required by FedNova, ignored otherwise). */
  steps?: number;
  /** Training samples: only the plain aggregator's `weighting: 'samples'` uses it. */
  samples?: number;
}

/** What a non-DP round measured. */
export interface PlainRoundRecord {
  strategy: StrategyName;
  weighting: 'uniform' | 'samples';
  updates: number;
  tauEff: number;
  robust?: 'norm-bound' | 'median' | 'trimmed-mean';
}

export interface AggregateResult<R> {
  /** The next global model. */
  weights: NamedTensor[];
  record: R;
  /** Adopt it (and persist it with the weights) to go on; drop it to discard the round. */
  serverState: ServerState;
}

/** Buffers an aggregator lends for assembling uploads where its add() reads them in place. */
export interface UploadPlace {
  /** A buffer of `bytes` bytes, or null when none is free. */
  take(bytes: number): Uint8Array | null;
  give(buffer: Uint8Array): void;
  /**
   * The first `received` bytes of `buffer` (from `take`) are final, for an update that add() will
   * get with `info`: work on them may start while they are in cache. Never throws.
   */
  arrived?(buffer: Uint8Array, received: number, info?: UpdateInfo): void;
}

export interface Aggregator<R> {
  /** Updates added so far. */
  readonly count: number;
  /**
   * One participant's new local weights (NOT a delta: Δ = update − global is taken here), in the
   * global model's tensor order with its sizes.
   */
  add(update: readonly NamedTensor[], info?: UpdateInfo): void;
  /** Once, after the last `add`. */
  result(): AggregateResult<R>;
}
