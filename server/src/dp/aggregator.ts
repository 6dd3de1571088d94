import { gaussianNoise } from '@fedward/privacy';
import type { NamedTensor } from '@fedward/protocol';
import { DEFAULT_MEDIAN_CAP, checkClipRule, medianClip, nextQuantileClip, quantileUpdateNoiseMultiplier, resolveQuantileRule, type ResolvedQuantileRule } from './clip-rules';
import { applyStrategy, checkServerState, emptyServerState, resolveStrategy } from './strategies';
import type { AggregateResult, Aggregator, ClipRule, DpRoundRecord, PlainRoundRecord, ServerState, Strategy, StrategyOption, UpdateInfo } from './types';

export interface DpAggregatorOptions {
  /** The global model the round started from (Δ_j = update_j − global). */
  global: readonly NamedTensor[];
  /** The round's total noise multiplier (what the accountant composes); 0 = clip only. */
  z: number;
  clipRule: ClipRule;
  /** Default 'fedavg'. */
  strategy?: StrategyOption;
  /** The state the last adopted round returned (or a decoded one after a restart); default empty. */
  serverState?: ServerState | null;
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

/** ‖(update − global)/τ‖ in float64. */
function deltaNorm(update: readonly NamedTensor[], global: readonly NamedTensor[], tau: number): number {
  let squares = 0;
  update.forEach((t, i) => {
    const g = global[i]!.values;
    const v = t.values;
    for (let k = 0; k < v.length; k++) {
      const d = (v[k]! - g[k]!) / tau;
      squares += d * d;
    }
  });
  return Math.sqrt(squares);
}

const scaleFor = (clip: number, norm: number) => Math.min(1, clip / (norm + 1e-15));

/**
 * DP aggregation of one round (seed spec §1.4, §1.6):
 *   Δ_j = update_j − θ (FedNova: divided by τ_j); n_j = ‖Δ_j‖;
 *   A = τ_eff·(1/M)·Σ_j Δ_j·min(1, C/n_j)  +  N(0, σ²) on every coordinate, σ = z_Δ·C·τ_eff/M;
 *   θ' = strategy(θ, A, state).
 * Uniform weights 1/M whatever the sample counts: one participant moves A by at most τ_eff·C/M,
 * which is what σ is calibrated to. Sums in float64; noise from the CSPRNG (WebCrypto).
 *
 * Memory: the fixed and quantile rules stream (one float64 copy of the model, however large M;
 * no reference to an update is kept after `add` returns). The median rule must see every norm
 * before it can clip, so it keeps a float32 copy of every Δ_j: O(M·d).
 */
export class DpAggregator implements Aggregator<DpRoundRecord> {
  private readonly strategy: Strategy;
  private readonly state: ServerState;
  private readonly quantile: ResolvedQuantileRule | null;
  /** C for the streaming rules (fixed, quantile); null for the median rule until `result`. */
  private readonly streamingClip: number | null;
  private readonly updateNoiseMultiplier: number;
  private readonly sums: Float64Array[];
  private buffered: { deltas: Float32Array[]; norm: number }[] = [];
  private norms: number[] = [];
  private tauSum = 0;
  private clipped = 0;
  /** Quantile rule: b = #{n_j ≤ C_t}. */
  private unclipped = 0;
  private done = false;
  count = 0;

  constructor(private readonly o: DpAggregatorOptions) {
    if (!(o.z >= 0) || !Number.isFinite(o.z)) throw new Error(`the noise multiplier must be finite and ≥ 0 (got ${o.z})`);
    checkClipRule(o.clipRule);
    this.strategy = resolveStrategy(o.strategy);
    this.state = o.serverState ?? emptyServerState();
    checkServerState(this.state, o.global);
    this.quantile = o.clipRule.kind === 'quantile' ? resolveQuantileRule(o.clipRule, o.z) : null;
    // Throws here, before any update arrives, when the quantile rule cannot keep the total at z.
    this.updateNoiseMultiplier = this.quantile ? quantileUpdateNoiseMultiplier(o.z, this.quantile.countNoise) : o.z;
    this.streamingClip = o.clipRule.kind === 'fixed' ? o.clipRule.clip : this.quantile ? (this.state.clip ?? this.quantile.initialClip) : null;
    this.sums = o.global.map((t) => new Float64Array(t.values.length));
  }

  add(update: readonly NamedTensor[], info?: UpdateInfo): void {
    if (this.done) throw new Error('this round was already aggregated');
    checkShape(update, this.o.global);
    const tau = stepsOf(this.strategy, info);
    const norm = deltaNorm(update, this.o.global, tau);
    if (this.streamingClip === null) {
      // Median rule: keep Δ_j/τ_j until every norm is known.
      this.buffered.push({
        norm,
        deltas: update.map((t, i) => {
          const g = this.o.global[i]!.values;
          return Float32Array.from(t.values, (v, k) => (v - g[k]!) / tau);
        }),
      });
    } else {
      this.accumulate(update, tau, scaleFor(this.streamingClip, norm));
      // Counted on the norm, not on scale < 1: the +1e-15 makes an update AT the bound scale by 1 − ε.
      if (norm > this.streamingClip) this.clipped += 1;
      else this.unclipped += 1;
    }
    this.norms.push(norm);
    this.tauSum += tau;
    this.count += 1;
  }

  private accumulate(update: readonly NamedTensor[], tau: number, scale: number): void {
    const f = scale / tau;
    update.forEach((t, i) => {
      const g = this.o.global[i]!.values;
      const v = t.values;
      const sum = this.sums[i]!;
      for (let k = 0; k < v.length; k++) sum[k]! += (v[k]! - g[k]!) * f;
    });
  }

  result(): AggregateResult<DpRoundRecord> {
    if (this.done) throw new Error('this round was already aggregated');
    if (this.count === 0) throw new Error('no update to average');
    this.done = true;
    const m = this.count;
    const rule = this.o.clipRule;
    let clip: number;
    if (this.streamingClip === null) {
      clip = medianClip(this.norms, rule.kind === 'median' ? (rule.cap ?? DEFAULT_MEDIAN_CAP) : DEFAULT_MEDIAN_CAP);
      for (const b of this.buffered) {
        const scale = scaleFor(clip, b.norm);
        if (b.norm > clip) this.clipped += 1;
        b.deltas.forEach((d, i) => {
          const sum = this.sums[i]!;
          for (let k = 0; k < d.length; k++) sum[k]! += d[k]! * scale;
        });
      }
      this.buffered = [];
    } else {
      clip = this.streamingClip;
    }
    const tauEff = this.strategy.kind === 'fednova' ? this.tauSum / m : 1;
    const sigma = (this.updateNoiseMultiplier * clip * tauEff) / m;
    let aggregateSquares = 0;
    let noiseSquares = 0;
    const average = this.sums.map((sum) => {
      const a = new Float64Array(sum.length);
      for (let k = 0; k < a.length; k++) {
        a[k] = (tauEff * sum[k]!) / m;
        aggregateSquares += a[k]! * a[k]!;
      }
      if (sigma > 0) {
        const noise = gaussianNoise(a.length, sigma);
        for (let k = 0; k < a.length; k++) {
          noiseSquares += noise[k]! * noise[k]!;
          a[k]! += noise[k]!;
        }
      }
      return a;
    });
    let unclippedFraction: number | null = null;
    let nextClip: number | null = null;
    if (this.quantile) {
      const q = this.quantile;
      const countNoise = q.countNoise > 0 ? gaussianNoise(1, q.countNoise)[0]! : 0;
      unclippedFraction = (this.unclipped + countNoise) / m;
      nextClip = nextQuantileClip(clip, unclippedFraction, q.targetQuantile, q.learningRate);
    }
    const { weights, adam } = applyStrategy(this.strategy, this.o.global, average, this.state);
    const rawNormSum = this.norms.reduce((s, n) => s + n, 0);
    const normSum = rawNormSum * tauEff;
    const noiseNorm = Math.sqrt(noiseSquares);
    this.norms = [];
    return {
      weights,
      serverState: { rounds: this.state.rounds + 1, clip: nextClip ?? this.state.clip, adam },
      record: {
        clip,
        noiseMultiplier: this.o.z,
        sigma,
        updates: m,
        normSum,
        clipped: this.clipped,
        aggregateNorm: Math.sqrt(aggregateSquares),
        noiseNorm,
        lambda: normSum > 0 ? noiseNorm / normSum : null,
        clipRule: rule.kind,
        leaking: rule.kind === 'median',
        strategy: this.strategy.kind,
        updateNoiseMultiplier: this.updateNoiseMultiplier,
        tauEff,
        unclippedFraction,
        nextClip,
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
  private weightSum = 0;
  private weightedTau = 0;
  private normSum = 0;
  private done = false;
  count = 0;

  constructor(private readonly o: PlainAggregatorOptions) {
    this.strategy = resolveStrategy(o.strategy);
    this.state = o.serverState ?? emptyServerState();
    checkServerState(this.state, o.global);
    this.weighting = o.weighting ?? 'uniform';
    this.sums = o.global.map((t) => new Float64Array(t.values.length));
  }

  add(update: readonly NamedTensor[], info?: UpdateInfo): void {
    if (this.done) throw new Error('this round was already aggregated');
    checkShape(update, this.o.global);
    let w = 1;
    if (this.weighting === 'samples') {
      w = info?.samples ?? Number.NaN;
      if (!(w > 0)) throw new Error(`sample-weighted aggregation needs info.samples > 0 (got ${String(info?.samples)})`);
    }
    const tau = stepsOf(this.strategy, info);
    this.normSum += deltaNorm(update, this.o.global, tau);
    const f = w / tau;
    update.forEach((t, i) => {
      const g = this.o.global[i]!.values;
      const v = t.values;
      const sum = this.sums[i]!;
      for (let k = 0; k < v.length; k++) sum[k]! += (v[k]! - g[k]!) * f;
    });
    this.weightSum += w;
    this.weightedTau += w * tau;
    this.count += 1;
  }

  result(): AggregateResult<PlainRoundRecord> {
    if (this.done) throw new Error('this round was already aggregated');
    if (this.count === 0) throw new Error('no update to average');
    this.done = true;
    const tauEff = this.strategy.kind === 'fednova' ? this.weightedTau / this.weightSum : 1;
    let squares = 0;
    const average = this.sums.map((sum) =>
      Float64Array.from(sum, (s) => {
        const a = (tauEff * s) / this.weightSum;
        squares += a * a;
        return a;
      }),
    );
    const { weights, adam } = applyStrategy(this.strategy, this.o.global, average, this.state);
    return {
      weights,
      serverState: { rounds: this.state.rounds + 1, clip: this.state.clip, adam },
      record: { strategy: this.strategy.kind, weighting: this.weighting, updates: this.count, normSum: this.normSum * tauEff, aggregateNorm: Math.sqrt(squares), tauEff },
    };
  }
}

export function createDpAggregator(options: DpAggregatorOptions): DpAggregator {
  return new DpAggregator(options);
}

export function createPlainAggregator(options: PlainAggregatorOptions): PlainAggregator {
  return new PlainAggregator(options);
}
