import * as tf from '@tensorflow/tfjs';
import { cryptoRandomFill, gaussianNoise, type RandomFill } from '@fedward/privacy';

/**
 * Per-example losses that layers add during a training forward pass (PRECODE's KL term).
 *
 * TF.js's own `Layer.addLoss` takes thunks that only `LayersModel.fit` evaluates; the engine
 * trains with its own loop (`model.apply` under `tf.variableGrads`), and DP-SGD needs the extra
 * loss per example, so a layer hands its [N] loss to the collector the engine opens around the
 * forward pass. The layer must `tf.keep` what it records because `LayersModel.call` runs the
 * graph inside a `tf.tidy` that would dispose it; `withExampleLosses` hands back a tracked copy
 * and disposes the kept originals (the gradient tape keeps its own copies of what it needs).
 */
const collectors: tf.Tensor1D[][] = [];

/** Called by a layer in a training forward pass: `loss` is [N], one term per example, already weighted. */
export function recordExampleLoss(loss: tf.Tensor1D): void {
  // Outside the engine's training path (an export, a user's own `apply`), nobody adds it to a loss.
  collectors[collectors.length - 1]?.push(tf.keep(loss));
}

/** Runs a forward pass and returns its output with the sum of the per-example losses its layers recorded ([N]), or null. */
export function withExampleLosses<T>(forward: () => T): { output: T; exampleLoss: tf.Tensor1D | null } {
  const recorded: tf.Tensor1D[] = [];
  collectors.push(recorded);
  try {
    const output = forward();
    const exampleLoss = recorded.length === 0 ? null : recorded.length === 1 ? tf.clone(recorded[0]!) : (tf.addN(recorded) as tf.Tensor1D);
    return { output, exampleLoss };
  } finally {
    collectors.pop();
    tf.dispose(recorded);
  }
}

/** The class name model.json carries for the sampling layer (plain TF.js needs this module loaded to read it). */
export const VARIATIONAL_SAMPLE_CLASS = 'FedwardVariationalSample';

/**
 * The stochastic middle of PRECODE's variational bottleneck (Scheliga et al. 2022). Input: the
 * encoder's [N, 2K] statistics, μ then log σ². In training it returns z = μ + σ·ε with ε ~ N(0, I)
 * drawn fresh on every call from `random` (the CSPRNG unless a test seeds it: never Math.random,
 * which is what tf.randomNormal falls back to without a seed) and records, per example,
 *   β · KL(N(μ, σ²) ‖ N(0, I)) = β · ½ Σ_k (σ_k² + μ_k² − 1 − log σ_k²)
 * so the engine adds its batch mean to the task loss. In inference it returns μ (deterministic),
 * and records nothing. It has no weights: the encoder and decoder are plain Dense layers, which
 * DP-SGD's fast path already splits per record, and every example's output and KL depend on that
 * example alone, so per-example clipping bounds what one record changes.
 *
 * PRECODE's reference code parametrises σ = softplus(s − 5), which starts near 0.007; log σ² from a
 * fresh encoder starts σ near 1 (more noise early). On the demo task (K = 16, 10 rounds, seeds 1–2)
 * the plain log σ² reached 97 % and 88 %, a variant shifted to start at σ ≈ 0.007 94 % and 79 %
 * (within the run-to-run spread), so the plain parametrisation stays.
 */
export class VariationalSample extends tf.layers.Layer {
  static className = VARIATIONAL_SAMPLE_CLASS;
  readonly k: number;
  readonly beta: number;
  private readonly random: RandomFill;

  constructor(args: { name?: string; k: number; beta: number; random?: RandomFill }) {
    super(args);
    if (!(Number.isInteger(args.k) && args.k >= 1)) throw new Error(`the variational bottleneck needs K ≥ 1 latent dimensions (got ${args.k})`);
    if (!(Number.isFinite(args.beta) && args.beta >= 0)) throw new Error(`the variational bottleneck's β must be a number ≥ 0 (got ${args.beta})`);
    this.k = args.k;
    this.beta = args.beta;
    this.random = args.random ?? cryptoRandomFill;
  }

  override computeOutputShape(shape: tf.Shape | tf.Shape[]): tf.Shape | tf.Shape[] {
    const s = (Array.isArray(shape[0]) ? shape[0] : shape) as tf.Shape;
    if (s.length !== 2 || s[1] !== 2 * this.k) throw new Error(`${this.name} takes [N, 2K = ${2 * this.k}] statistics, got [${s.join(', ')}]`);
    return [s[0]!, this.k];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: tf.serialization.ConfigDict): tf.Tensor {
    return tf.tidy(() => {
      const stats = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
      const mu = tf.slice(stats, [0, 0], [-1, this.k]);
      if (kwargs['training'] !== true) return mu;
      const logVar = tf.slice(stats, [0, this.k], [-1, this.k]);
      const n = stats.shape[0];
      const eps = tf.tensor2d(gaussianNoise(n * this.k, 1, this.random), [n, this.k]);
      const z = tf.add(mu, tf.mul(tf.exp(tf.mul(0.5, logVar)), eps));
      if (this.beta > 0) {
        const kl = tf.mul(0.5, tf.sum(tf.sub(tf.add(tf.exp(logVar), tf.square(mu)), tf.add(1, logVar)), 1)) as tf.Tensor1D;
        recordExampleLoss(tf.mul(this.beta, kl) as tf.Tensor1D);
      }
      return z;
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), k: this.k, beta: this.beta };
  }
}
tf.serialization.registerClass(VariationalSample);
