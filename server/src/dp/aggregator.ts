import {
  GridContribution,
  addDiscreteGaussianNoise,
  cryptoRandomFill,
  decodeMean,
  discreteGaussianParameters,
  discreteGaussianSample,
  gridFor,
  updateDelta,
  type ContributionShape,
  type Grid,
  type RandomFill,
} from '@fedward/privacy';
import type { DpReleaseView, NamedTensor } from '@fedward/protocol';
import { DEFAULT_MEDIAN_CAP, checkClipRule, medianClip, nextQuantileClip, resolveQuantileRule, type ResolvedQuantileRule } from './clip-rules';
import { applyStrategy, checkServerState, emptyServerState, resolveStrategy } from './strategies';
import { boundNorm, combineCoordinates, type RobustRule } from './robust';
import type { AggregateResult, Aggregator, ClipRule, PlainRoundRecord, ServerState, Strategy, StrategyOption, UpdateInfo, UploadPlace } from './types';

export interface DpAggregatorOptions {
  /** The global model the round started from (Δ_j = update_j − global). */
  global: readonly NamedTensor[];
  /** z: the update noise on the integer sum has std z·C (z·bound on the grid). 0: no noise (tests only; the server's config refuses it). */
  z: number;
  clipRule: ClipRule;
  /** Default 'fedavg'. */
  strategy?: StrategyOption;
  /** The state the last adopted round returned (or a decoded one after a restart); default empty. */
  serverState?: ServerState | null;
  /** FedNova: the public τ̄ that scales the release (required for FedNova). */
  publicSteps?: number;
  /**
   * Also release Σ_j min(‖Δ_j‖, C) with discrete Gaussian noise of std (this multiplier)·C, for
   * the adaptive VN rule. Null: not computed at all.
   */
  normSumNoise?: number | null;
  /** The adaptive rule's probe: release ONLY the noised norm sum; the model does not move. */
  probe?: boolean;
  /** CSPRNG (tests inject a deterministic one); default WebCrypto. */
  random?: RandomFill;
}

export interface PlainAggregatorOptions {
  global: readonly NamedTensor[];
  strategy?: StrategyOption;
  serverState?: ServerState | null;
  /**
   * 'uniform' (default): w_j = 1/M, the seed's "pure average" in its non-DP trainers too.
   * 'samples': w_j = n_j/Σn (Fedward's FedAvg); needs `info.samples`.
   */
  weighting?: 'uniform' | 'samples';
  /** Without DP: bound what one update can do (one vote per update; see robust.ts). */
  robust?: RobustRule;
}

/** Every update must have the global model's tensor count and sizes; names are the caller's to check. */
function checkShape(update: readonly NamedTensor[], global: readonly NamedTensor[]): void {
  if (update.length !== global.length) throw new Error(`the update has ${update.length} tensors, the model ${global.length}`);
  update.forEach((t, i) => {
    if (t.values.length !== global[i]!.values.length) {
      throw new Error(`update tensor ${i} ("${t.name}") has ${t.values.length} values, the model's "${global[i]!.name}" has ${global[i]!.values.length}`);
    }
  });
}

/** τ_j for FedNova (a positive integer is required), 1 for the others. */
function stepsOf(strategy: Strategy, info: UpdateInfo | undefined): number {
  if (strategy.kind !== 'fednova') return 1;
  const steps = info?.steps;
  if (steps === undefined || !Number.isInteger(steps) || steps < 1) {
    throw new Error(`FedNova needs each update's local step count (info.steps, a positive integer; got ${String(steps)})`);
  }
  return steps;
}

const stdOf = (requested: number) => (requested > 0 ? discreteGaussianParameters(requested).sigma : 0);

/**
 * The releases a DP round makes, in order, with the std of each one's integer noise (as drawn:
 * the discrete Gaussian's √S for the requested σ) and how far replacing ONE update can move it.
 * The aggregator releases exactly these, and the round engine's budget check plans with them.
 */
export function roundReleases(o: { z: number; bound: number; countNoise: number | null; normSumNoise: number | null; probe: boolean }): DpReleaseView[] {
  const releases: DpReleaseView[] = [];
  if (!o.probe) releases.push({ what: 'sum', sigma: stdOf(o.z * o.bound), perUpdate: 2 * o.bound });
  if (o.countNoise !== null) releases.push({ what: 'count', sigma: stdOf(o.countNoise), perUpdate: 1 });
  if (o.normSumNoise !== null) releases.push({ what: 'norm-sum', sigma: stdOf(o.normSumNoise * o.bound), perUpdate: o.bound });
  return releases;
}

/** What one DP round released, before the ledger and the VN rule turn it into a round view. */
export interface DpRelease {
  /** False under the median rule (its C is an un-noised statistic of the updates). */
  private: boolean;
  clipRule: ClipRule['kind'];
  clip: number;
  noiseMultiplier: number;
  grid: Grid;
  /** Std of the update noise on the released mean, model units (0 in a probe round). */
  sigma: number;
  updates: number;
  strategy: Strategy['kind'];
  tauEff: number;
  probe: boolean;
  /** Every noised release with the std of its integer noise and one update's replacement sensitivity. */
  releases: DpReleaseView[];
  quantile: { noisedCount: number; fraction: number; nextClip: number } | null;
  /** The noised Σ min(‖Δ_j‖, C), model units. */
  noisedNormSum: number | null;
}

/**
 * DP aggregation of one round on the integer grid (seed spec §1.4, §1.6; issue 12):
 *   Δ_j = update_j − θ (FedNova: ÷ τ_j); x̃_j = trunc(Δ_j·min(1, C/‖Δ_j‖)·scale), ‖x̃_j‖ ≤ bound;
 *   Y = Σ_j x̃_j + N_Z(0, (z·bound)²) per coordinate   ← the only released form of the updates;
 *   A = τ̄·Y/(scale·M);  θ' = strategy(θ, A, state)     ← post-processing of Y and public values.
 * Replacing one update moves Y by at most 2·bound, so σ/(2·bound) = z/2 is its multiplier per
 * update; the ledger multiplies the sensitivity by the updates one person or hospital can touch.
 * Under the quantile rule, b = #{‖Δ_j‖ ≤ C} gets its own integer noise (sensitivity 1); with
 * `normSumNoise`, Σ_j ⌊min(‖x̃_j‖, bound)⌋ does (sensitivity bound). Nothing else about the updates
 * is computed: no norms, counts or noise norms leave this object.
 *
 * Memory: the fixed and quantile rules stream (one int32 sum, folded into float64 before it could
 * overflow and at the release, however large M; the WebAssembly kernels' copy of θ and a few
 * upload buffers, pages untouched until used; no reference to an update is kept after `add`
 * returns). The median rule must see every norm before it can clip, so it keeps every Δ_j: O(M·d).
 *
 * The clip norm ‖Δ_j‖ is one float64 sum of squares in a fixed order (eight lanes by index,
 * packages/privacy/src/grid-kernels.ts), the same on every path; no privacy claim rests on its
 * last bits: the bound is enforced by the exact integer check ‖x̃_j‖² ≤ bound² after encoding, and
 * the quantile rule's indicator is a function of one update (sensitivity 1) whatever the order.
 */
export class DpAggregator implements Aggregator<DpRelease> {
  private readonly strategy: Strategy;
  private readonly state: ServerState;
  private readonly quantile: ResolvedQuantileRule | null;
  private readonly random: RandomFill;
  private readonly dimension: number;
  private readonly shape: ContributionShape;
  /** The streaming rules' (fixed, quantile) sums on the grid; null for the median rule until `result`. */
  private streaming: GridContribution | null;
  private buffered: { delta: Float64Array[]; norm: number }[] = [];
  private done = false;
  count = 0;

  constructor(private readonly o: DpAggregatorOptions) {
    if (!(o.z >= 0) || !Number.isFinite(o.z)) throw new Error(`the noise multiplier must be finite and ≥ 0 (got ${o.z})`);
    checkClipRule(o.clipRule);
    this.strategy = resolveStrategy(o.strategy);
    if (this.strategy.kind === 'fednova' && !(Number.isInteger(o.publicSteps) && o.publicSteps! >= 1)) {
      throw new Error('FedNova under DP needs a public step count τ̄ (publicSteps): the updates\' own step counts are private');
    }
    if (o.normSumNoise != null && !(o.normSumNoise > 0 && Number.isFinite(o.normSumNoise))) {
      throw new Error(`the norm sum's noise multiplier must be finite and > 0 (got ${o.normSumNoise})`);
    }
    if (o.probe && o.normSumNoise == null) throw new Error('a probe round releases only the noised norm sum: set normSumNoise');
    this.state = o.serverState ?? emptyServerState();
    checkServerState(this.state, o.global);
    this.random = o.random ?? cryptoRandomFill;
    this.dimension = o.global.reduce((n, t) => n + t.values.length, 0);
    this.quantile = o.clipRule.kind === 'quantile' ? resolveQuantileRule(o.clipRule, o.z) : null;
    const clip = o.clipRule.kind === 'fixed' ? o.clipRule.clip : this.quantile ? (this.state.clip ?? this.quantile.initialClip) : null;
    this.shape = { sizes: o.global.map((t) => t.values.length), probe: o.probe ?? false, countUnclipped: this.quantile !== null, normSum: o.normSumNoise != null };
    this.streaming = clip === null ? null : new GridContribution(this.shape, gridFor(clip, this.dimension));
  }

  /**
   * Where the coordinator may assemble this round's uploads (server/src/update-intake.ts): buffers
   * in the memory the grid's WebAssembly kernels work in, so add() reads the values in place
   * instead of copying them in (and splits its passes with the helper thread, where one is set);
   * `take` returns null when it has none free (or the kernels do not run here, or under the median
   * rule): then any buffer works as well, only a little slower.
   */
  uploadPlace(): UploadPlace | null {
    const streaming = this.streaming;
    if (!streaming || this.done) return null;
    return {
      take: (bytes) => (this.done ? null : streaming.uploadBuffer(bytes)),
      give: (buffer) => streaming.releaseBuffer(buffer),
      // The clip norm's pass block by block as the chunks arrive (same bits; add() then makes one
      // pass). An update whose step count FedNova refuses is refused at add(): nothing taken here.
      arrived: (buffer, received, info) => {
        if (this.done) return;
        let tau: number;
        try {
          tau = stepsOf(this.strategy, info);
        } catch {
          return;
        }
        streaming.arrived(buffer, received, this.o.global, tau);
      },
    };
  }

  /** The round's grid (public: from C and d) and the shape of a contribution; null under the median rule. */
  get contribution(): { grid: Grid; shape: ContributionShape } | null {
    return this.streaming && { grid: this.streaming.grid, shape: this.shape };
  }

  add(update: readonly NamedTensor[], info?: UpdateInfo): void {
    if (this.done) throw new Error('this round was already aggregated');
    checkShape(update, this.o.global);
    const tau = stepsOf(this.strategy, info);
    if (this.streaming) {
      // Streaming rules: Δ_j is never formed (two passes over the update straight into the sums,
      // bit for bit updateDelta + addDelta; in place when the update was assembled in
      // `uploadPlace`, and one pass when its norm was taken there as it arrived); memory stays
      // O(d) in M. Throws first when not finite.
      this.streaming.addUpdate(update, this.o.global, tau);
    } else {
      // Median rule: keep Δ_j until every norm is known.
      const { delta, norm } = updateDelta(update, this.o.global, tau);
      if (!Number.isFinite(norm)) throw new Error('the update is not finite');
      this.buffered.push({ delta, norm });
    }
    this.count += 1;
  }

  /**
   * Secure aggregation: adds the unmasked sum of the hospitals' contributions (each hospital's
   * GridContribution over its own updates, with the same grid and shape), holding `updates`
   * updates in all. The server never sees a single update; what it adds here is what it would
   * have summed itself.
   */
  addSum(flat: Float64Array, updates: number): void {
    if (this.done) throw new Error('this round was already aggregated');
    if (this.streaming === null) throw new Error('the median clip rule needs every update norm: it cannot run under secure aggregation');
    this.streaming.addFlat(flat, updates);
    this.count += updates;
  }

  result(): AggregateResult<DpRelease> {
    if (this.done) throw new Error('this round was already aggregated');
    if (this.count === 0) throw new Error('no update to average');
    this.done = true;
    const m = this.count;
    const rule = this.o.clipRule;
    let sums = this.streaming;
    if (sums === null) {
      const clip = medianClip(
        this.buffered.map((b) => b.norm),
        rule.kind === 'median' ? (rule.cap ?? DEFAULT_MEDIAN_CAP) : DEFAULT_MEDIAN_CAP,
      );
      sums = new GridContribution(this.shape, gridFor(clip, this.dimension));
      for (const b of this.buffered) sums.addDelta(b.delta, b.norm);
      this.buffered = [];
    }
    const grid = sums.grid;
    const releases = roundReleases({
      z: this.o.z,
      bound: grid.bound,
      countNoise: this.quantile?.countNoise ?? null,
      normSumNoise: this.o.normSumNoise ?? null,
      probe: this.o.probe ?? false,
    });
    const tauEff = this.strategy.kind === 'fednova' ? this.o.publicSteps! : 1;
    let weights: NamedTensor[] | null = null;
    let adam = this.state.adam;
    let sigma = 0;
    if (!this.o.probe) {
      const std = releases[0]!.sigma;
      if (std > 0) for (const sum of sums.sums) addDiscreteGaussianNoise(sum, this.o.z * grid.bound, this.random);
      const mean = decodeMean(sums.sums, grid, m);
      if (tauEff !== 1) for (const a of mean) for (let k = 0; k < a.length; k++) a[k]! *= tauEff;
      ({ weights, adam } = applyStrategy(this.strategy, this.o.global, mean, this.state));
      sigma = (std * tauEff) / (grid.scale * m);
    }
    let quantile: DpRelease['quantile'] = null;
    let nextClip: number | null = null;
    if (this.quantile) {
      const q = this.quantile;
      const noisedCount = sums.unclipped + (q.countNoise > 0 ? discreteGaussianSample(q.countNoise, this.random) : 0);
      // M is public, and the fraction is clamped to [0, 1]: the step is post-processing of b̃.
      const fraction = Math.min(1, Math.max(0, noisedCount / m));
      nextClip = nextQuantileClip(grid.clip, fraction, q.targetQuantile, q.learningRate);
      quantile = { noisedCount, fraction, nextClip };
    }
    let noisedNormSum: number | null = null;
    if (this.o.normSumNoise != null) {
      noisedNormSum = (sums.gridNormSum + discreteGaussianSample(this.o.normSumNoise * grid.bound, this.random)) / grid.scale;
    }
    sums.clear();
    return {
      // A probe round leaves the model where it was.
      weights: weights ?? this.o.global.map((t) => ({ name: t.name, shape: [...t.shape], values: t.values.slice() })),
      serverState: { rounds: this.state.rounds + 1, clip: nextClip ?? this.state.clip, adam },
      record: {
        private: rule.kind !== 'median',
        clipRule: rule.kind,
        clip: grid.clip,
        noiseMultiplier: this.o.z,
        grid,
        sigma,
        updates: m,
        strategy: this.strategy.kind,
        tauEff,
        probe: this.o.probe ?? false,
        releases,
        quantile,
        noisedNormSum,
      },
    };
  }
}

/** The non-DP twin: no clip, no noise; the same strategies (§1.6 "their non-DP twins"). */
export class PlainAggregator implements Aggregator<PlainRoundRecord> {
  private readonly strategy: Strategy;
  private readonly state: ServerState;
  private readonly weighting: 'uniform' | 'samples';
  private readonly sums: Float64Array[];
  /** Median / trimmed mean: every update's change, kept until the round closes. */
  private readonly kept: Float64Array[][] = [];
  private weightSum = 0;
  private weightedTau = 0;
  private done = false;
  count = 0;

  constructor(private readonly o: PlainAggregatorOptions) {
    this.strategy = resolveStrategy(o.strategy);
    this.state = o.serverState ?? emptyServerState();
    checkServerState(this.state, o.global);
    // A robust rule gives each update one vote: a claimed sample count must not buy more.
    this.weighting = o.robust ? 'uniform' : (o.weighting ?? 'uniform');
    this.sums = o.global.map((t) => new Float64Array(t.values.length));
  }

  /** Throws, changing nothing, when the update is not finite (one NaN would poison every sum). */
  add(update: readonly NamedTensor[], info?: UpdateInfo): void {
    if (this.done) throw new Error('this round was already aggregated');
    checkShape(update, this.o.global);
    for (const t of update) if (!allFinite(t.values)) throw new RangeError(`the update is not finite (tensor "${t.name}")`);
    if (this.o.robust) return this.addRobust(update, this.o.robust, stepsOf(this.strategy, info));
    let w = 1;
    if (this.weighting === 'samples') {
      w = info?.samples ?? Number.NaN;
      if (!(w > 0)) throw new Error(`sample-weighted aggregation needs info.samples > 0 (got ${String(info?.samples)})`);
    }
    const tau = stepsOf(this.strategy, info);
    const f = w / tau;
    for (let i = 0; i < update.length; i++) addScaledDifference(this.sums[i]!, update[i]!.values, this.o.global[i]!.values, f);
    this.weightSum += w;
    this.weightedTau += w * tau;
    this.count += 1;
  }

  private addRobust(update: readonly NamedTensor[], robust: RobustRule, tau: number): void {
    const delta = update.map((t, i) => {
      const g = this.o.global[i]!.values;
      const v = t.values;
      const d = new Float64Array(v.length);
      for (let k = 0; k < d.length; k++) d[k] = (v[k]! - g[k]!) / tau;
      return d;
    });
    if (robust.rule === 'norm-bound') {
      boundNorm(delta, robust.normBound);
      delta.forEach((d, i) => {
        const sum = this.sums[i]!;
        for (let k = 0; k < d.length; k++) sum[k]! += d[k]!;
      });
    } else this.kept.push(delta);
    this.weightSum += 1;
    this.weightedTau += tau;
    this.count += 1;
  }

  result(): AggregateResult<PlainRoundRecord> {
    if (this.done) throw new Error('this round was already aggregated');
    if (this.count === 0) throw new Error('no update to average');
    this.done = true;
    const tauEff = this.strategy.kind === 'fednova' ? this.weightedTau / this.weightSum : 1;
    const robust = this.o.robust;
    // The average, in place (the sums are not needed again): τ_eff·(Σ/W) per coordinate.
    const average =
      robust && robust.rule !== 'norm-bound'
        ? combineCoordinates(this.kept, robust.rule, robust.rule === 'trimmed-mean' ? robust.trim : 0)
        : this.sums.map((sum) => divideInPlace(sum, this.weightSum));
    for (const a of average) scaleInPlace(a, tauEff);
    const { weights, adam } = applyStrategy(this.strategy, this.o.global, average, this.state);
    return {
      weights,
      serverState: { rounds: this.state.rounds + 1, clip: this.state.clip, adam },
      record: { strategy: this.strategy.kind, weighting: this.weighting, updates: this.count, tauEff, ...(robust && { robust: robust.rule }) },
    };
  }
}

/** sum += (v − g)·f, coordinate by coordinate (four per step: the same operations, fewer loop checks). */
function addScaledDifference(sum: Float64Array, v: Float32Array, g: Float32Array, f: number): void {
  const n = sum.length;
  let k = 0;
  for (; k + 3 < n; k += 4) {
    sum[k]! += (v[k]! - g[k]!) * f;
    sum[k + 1]! += (v[k + 1]! - g[k + 1]!) * f;
    sum[k + 2]! += (v[k + 2]! - g[k + 2]!) * f;
    sum[k + 3]! += (v[k + 3]! - g[k + 3]!) * f;
  }
  for (; k < n; k++) sum[k]! += (v[k]! - g[k]!) * f;
}

/** True when every value is finite (x·0 is 0 for finite x, NaN for ±∞ and NaN), four at a time. */
function allFinite(v: Float32Array): boolean {
  const n = v.length;
  let k = 0;
  for (; k + 3 < n; k += 4) if (v[k]! * 0 + v[k + 1]! * 0 + v[k + 2]! * 0 + v[k + 3]! * 0 !== 0) return false;
  for (; k < n; k++) if (v[k]! * 0 !== 0) return false;
  return true;
}

function divideInPlace(a: Float64Array, w: number): Float64Array {
  for (let k = 0; k < a.length; k++) a[k] = a[k]! / w;
  return a;
}

function scaleInPlace(a: Float64Array, f: number): void {
  for (let k = 0; k < a.length; k++) a[k] = f * a[k]!;
}

export function createDpAggregator(options: DpAggregatorOptions): DpAggregator {
  return new DpAggregator(options);
}

export function createPlainAggregator(options: PlainAggregatorOptions): PlainAggregator {
  return new PlainAggregator(options);
}
