import type { Defence } from '@fedward/leakage-audit';
import type { ModelSpec, NamedTensor } from '@fedward/protocol';

/**
 * The Audit view's run: what the page sends the leakage-audit worker and what comes back. Only
 * public things travel here: the released global model, the study's public settings and the
 * package's demo slices (made in the worker).
 */
export interface AuditSettings {
  /** Demo slices the simulated hospital trains on: 1 or 2. */
  images: 1 | 2;
  /** Local SGD steps (one per local epoch on the whole batch, as the product trains 1–2 slices). */
  localSteps: number;
  restarts: number;
  iterations: number;
  /** The study's local learning rate. */
  learningRate: number;
  defences: Defence[];
  /** dp: the study's z, C and δ (the product's defaults where the study has no client-level DP). */
  dp: { noiseMultiplier: number; clip: number; delta: number };
  /** dp-sgd: the study's σ, per-patient C and δ (the product's defaults where it has no DP-SGD). */
  dpSgd: { noiseMultiplier: number; clip: number; delta: number };
  /** secagg: hospitals in the sum (the simulated one and demo hospitals of the same task). */
  hospitals: number;
}

export type AuditRequest = {
  type: 'run';
  spec: ModelSpec;
  global: NamedTensor[];
  settings: AuditSettings;
};

/** One defence's outcome; images are [N, size, size] flattened, in [0, 1]. */
export interface DefenceResult {
  defence: Defence;
  size: number;
  labels: number[];
  originals: Float32Array;
  /** The reconstruction given each original's mean and sd (zscore hides them), as the CLI scores it. */
  reconstructions: Float32Array;
  psnr: number[];
  ssim: number[];
  /** ε per patient of what the attacker saw (dp: this one round's release; dp-sgd: the local steps). */
  epsilon: number | null;
  /** What the attacker saw, in words. */
  note: string;
  /** The model the demo hospital trained: the study's, or small-cnn-vb for precode. */
  model: string;
  /** precode: the bottleneck's β and K, and the attacker's stand-in for the hospital's ε draws. */
  vb: { beta: number; k: number; attackerNoise: 'mean' } | null;
}

export type AuditReply =
  /** Sent once the worker has loaded: the package's IMPLEMENTED_DEFENCES. */
  | { type: 'defences'; defences: Defence[] }
  | { type: 'backend'; backend: string }
  | { type: 'progress'; defence: Defence; restart: number; restarts: number; iteration: number; iterations: number; loss: number }
  | { type: 'result'; result: DefenceResult }
  | { type: 'done' }
  | { type: 'error'; message: string };
