import { z } from 'zod';
import type { federationConfigSchema } from './config';

/*
 * Every event that crosses the wire, with the schema the receiving side validates it against.
 * Binary fields (weights, chunks) are checked by `binarySchema` here and decoded by the weights codec.
 */

export const binarySchema = z.custom<Uint8Array | ArrayBuffer>(
  (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v),
  { message: 'expected binary data (ArrayBuffer/Uint8Array)' },
);

const finite = z.number().refine(Number.isFinite, { message: 'must be a finite number' });

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export const backendSchema = z.enum(BACKENDS);
export type BackendName = z.infer<typeof backendSchema>;

// ---- hospital → server -------------------------------------------------------------------

export const helloSchema = z.object({
  backend: backendSchema,
  trainSamples: z.number().int().nonnegative(),
  testSamples: z.number().int().nonnegative(),
});
export type Hello = z.infer<typeof helloSchema>;

export const updateBeginSchema = z.object({
  round: z.number().int().positive(),
  trainSamples: z.number().int().positive(),
  trainLoss: finite,
  backend: backendSchema,
  totalBytes: z.number().int().positive(),
  /**
   * Which of this hospital's sub-clients the update is from (0-based), and how many sub-clients
   * the hospital trains this round (at most the VN the server asked for). One upload each;
   * they arrive one after the other. Absent = one sub-client.
   */
  subClient: z.number().int().nonnegative().optional(),
  subClients: z.number().int().positive().optional(),
  /** Optimizer steps this update took (FedNova's τ). */
  steps: z.number().int().nonnegative().optional(),
}).refine((m) => (m.subClient ?? 0) < (m.subClients ?? 1), { message: 'subClient must be below subClients' });
export type UpdateBegin = z.infer<typeof updateBeginSchema>;

export const updateChunkSchema = z.object({
  round: z.number().int().positive(),
  index: z.number().int().nonnegative(),
  data: binarySchema,
});
export type UpdateChunk = z.infer<typeof updateChunkSchema>;

export const updateEndSchema = z.object({ round: z.number().int().positive() });
export type UpdateEnd = z.infer<typeof updateEndSchema>;

export const evaluationSchema = z.object({
  round: z.number().int().nonnegative(),
  testSamples: z.number().int().positive(),
  accuracy: finite.pipe(z.number().min(0).max(1)),
  loss: finite,
  /** PRR-FL: the metrics above are the personalized model's; these are the deputy's on the same slices. */
  deputy: z.object({ accuracy: finite.pipe(z.number().min(0).max(1)), loss: finite }).optional(),
});
export type Evaluation = z.infer<typeof evaluationSchema>;

export const hospitalStatusSchema = z.object({
  phase: z.enum(['idle', 'training', 'uploading', 'evaluating']),
  round: z.number().int().nonnegative(),
  progress: z.number().min(0).max(1),
  /** The sub-client being trained or uploaded (0-based) and how many this round has. */
  subClient: z.number().int().nonnegative().optional(),
  subClients: z.number().int().positive().optional(),
});
export type HospitalStatus = z.infer<typeof hospitalStatusSchema>;

// ---- server → hospital -------------------------------------------------------------------

export interface Welcome {
  hospital: string;
  config: z.infer<typeof federationConfigSchema>;
  /** Last finished round; its global weights follow so a new tab can evaluate them. */
  round: number;
  weights: Uint8Array | ArrayBuffer;
}

export interface RoundStart {
  round: number;
  deadline: number;
  weights: Uint8Array | ArrayBuffer;
  /** Sub-clients per hospital for this round (VN): split the local data into this many, patient-disjoint. */
  virtualClients: number;
  /** The adaptive rule's probe round: trained and measured, its aggregate then discarded. */
  probe: boolean;
}

export interface RoundResult {
  round: number;
  participants: number;
  weights: Uint8Array | ArrayBuffer;
}

export interface ProtocolError {
  code:
    | 'bad-message'
    | 'bad-weights'
    | 'too-large'
    | 'not-participant'
    | 'wrong-round'
    | 'unauthorized'
    | 'internal';
  message: string;
  event?: string;
  round?: number;
}

export type Ack<T = object> = ({ ok: true } & T) | { ok: false; error: ProtocolError };

export interface HospitalToServer {
  hello: (msg: Hello, ack: (r: Ack<Omit<Welcome, never>>) => void) => void;
  'update-begin': (msg: UpdateBegin, ack: (r: Ack) => void) => void;
  'update-chunk': (msg: UpdateChunk, ack: (r: Ack<{ received: number }>) => void) => void;
  'update-end': (msg: UpdateEnd, ack: (r: Ack) => void) => void;
  evaluation: (msg: Evaluation, ack: (r: Ack) => void) => void;
  status: (msg: HospitalStatus) => void;
}

export interface ServerToHospital {
  'round-start': (msg: RoundStart) => void;
  'round-result': (msg: RoundResult) => void;
  'federation-done': (msg: { round: number; reason?: string }) => void;
  'protocol-error': (err: ProtocolError) => void;
}

// ---- admin ↔ server ---------------------------------------------------------------------

export const PHASES = ['waiting', 'training', 'aggregating', 'done'] as const;
export type Phase = (typeof PHASES)[number];

export interface HospitalView {
  name: string;
  connected: boolean;
  backend: BackendName | null;
  status: HospitalStatus | null;
  trainSamples: number;
  testSamples: number;
}

/** What the server's DP aggregation measured in one round. */
export interface DpAggregateRecord {
  /** Clip bound C on each update's global L2 norm. */
  clip: number;
  /** Noise multiplier z (noise std / sensitivity of one update). */
  noiseMultiplier: number;
  /** Per-coordinate noise std on the released average: z_Δ·C·τ_eff/M (z·C/M for DP-FedAvg with a fixed or median clip). */
  sigma: number;
  /** Number of clipped updates averaged (M). */
  updates: number;
  /** Σ_j ‖Δ_j‖ of the raw (unclipped) updates. */
  normSum: number;
  /** How many updates the clip actually shrank. */
  clipped: number;
  /** ‖A‖: norm of the clipped average before noise. */
  aggregateNorm: number;
  /** ‖noise‖ actually added. */
  noiseNorm: number;
  /** λ = ‖noise‖/Σ_j‖Δ_j‖, the adaptive intermediary's ratio (null when every update was zero). */
  lambda: number | null;
  /** How C was chosen; 'median' is not private (the median of raw norms is released as C). */
  clipRule: 'fixed' | 'median' | 'quantile';
  /** True when the round released something the noise does not cover (the median rule's C). */
  leaking: boolean;
  /** The server optimizer applied to the noised average. */
  strategy: 'fedavg' | 'fedadam' | 'fednova';
  /** z_Δ, the multiplier of the update noise: z, except under the quantile rule (which spends part of z on its count). */
  updateNoiseMultiplier: number;
  /** FedNova's τ_eff = mean local steps (1 for the other strategies). */
  tauEff: number;
  /** Quantile rule only: b̃, the noised fraction of updates that were not clipped, and C for the next round. */
  unclippedFraction: number | null;
  nextClip: number | null;
}

/** A DP round as the admin sees it: the aggregation's record, the ε spent, and the VN decisions. */
export interface DpRoundView extends DpAggregateRecord {
  epsilonSubClient: number;
  epsilonHospital: number;
  /** VN asked of each hospital this round, and the most sub-clients one hospital actually sent. */
  virtualClients: number;
  maxSubClients: number;
  /** The adaptive rule after this round (null with a fixed VN): λ = ‖noise‖/Σ‖Δ_j‖, v = √(N·λ), next VN. */
  adaptive: { lambda: number; v: number; next: number; clamped: boolean } | null;
  /** The adaptive rule's probe round: measured, its aggregate discarded. */
  probe: boolean;
}

export interface PrivacyView {
  unit: 'hospital' | 'sub-client';
  targetEpsilon: number;
  delta: number;
  accountant: 'rdp' | 'gdp';
  noiseMultiplier: number;
  clipNorm: number;
  clipRule: 'fixed' | 'median' | 'quantile';
  /** Sub-clients per hospital: how VN is chosen, and the VN the next round asks for. */
  virtualClients: { mode: 'fixed' | 'adaptive'; next: number };
  /** ε spent so far, per sub-client and per hospital (a hospital is VN sub-clients). */
  spent: { subClient: number; hospital: number };
  /** ε after the next round, and whether the budget allows it. */
  next: { subClient: number; hospital: number; allowed: boolean };
  warnings: string[];
}

export interface RoundView {
  round: number;
  dp: DpRoundView | null;
  participants: { hospital: string; trainSamples: number; trainLoss: number; backend: BackendName; subClients: number }[];
  /** Sample-weighted mean over the hospitals' own held-out slices (null until one reports). */
  accuracy: number | null;
  loss: number | null;
  evaluations: { hospital: string; testSamples: number; accuracy: number; loss: number; deputy?: { accuracy: number; loss: number } }[];
  completedAt: number | null;
}

export interface TokenView {
  id: number;
  hospital: string;
  createdAt: number;
  revoked: boolean;
}

export interface FederationSnapshot {
  config: z.infer<typeof federationConfigSchema>;
  phase: Phase;
  /** The round being trained, or the next one to start. */
  round: number;
  deadline: number | null;
  hospitals: HospitalView[];
  rounds: RoundView[];
  tokens: TokenView[];
  log: LogEntry[];
  privacy: PrivacyView | null;
  /** Why the federation stopped before its last round (e.g. the privacy budget), if it did. */
  stopReason: string | null;
}

export interface LogEntry {
  at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export const createTokenSchema = z.object({
  hospital: z
    .string()
    .trim()
    .min(1)
    .max(80)
    .regex(/^[\p{L}\p{N} ._-]+$/u, 'letters, digits, spaces, dots, dashes and underscores only'),
});
export const revokeTokenSchema = z.object({ id: z.number().int().positive() });

export interface AdminToServer {
  'create-token': (msg: z.infer<typeof createTokenSchema>, ack: (r: Ack<{ token: string; id: number }>) => void) => void;
  'revoke-token': (msg: z.infer<typeof revokeTokenSchema>, ack: (r: Ack) => void) => void;
}

export interface ServerToAdmin {
  snapshot: (s: FederationSnapshot) => void;
}
