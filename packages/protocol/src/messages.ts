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
});
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
});
export type Evaluation = z.infer<typeof evaluationSchema>;

export const hospitalStatusSchema = z.object({
  phase: z.enum(['idle', 'training', 'uploading', 'evaluating']),
  round: z.number().int().nonnegative(),
  progress: z.number().min(0).max(1),
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

/** What a DP round measured, and the ε spent once it was released (both privacy units). */
export interface DpRoundView {
  /** Clip bound C on each update's global L2 norm. */
  clip: number;
  /** Noise multiplier z (noise std / sensitivity of one update). */
  noiseMultiplier: number;
  /** Per-coordinate noise std on the average: z·C/M. */
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
  epsilonSubClient: number;
  epsilonHospital: number;
}

export interface PrivacyView {
  unit: 'hospital' | 'sub-client';
  targetEpsilon: number;
  delta: number;
  accountant: 'rdp' | 'gdp';
  noiseMultiplier: number;
  clipNorm: number;
  /** ε spent so far, per sub-client and per hospital (a hospital is VN sub-clients). */
  spent: { subClient: number; hospital: number };
  /** ε after the next round, and whether the budget allows it. */
  next: { subClient: number; hospital: number; allowed: boolean };
  warnings: string[];
}

export interface RoundView {
  round: number;
  dp: DpRoundView | null;
  participants: { hospital: string; trainSamples: number; trainLoss: number; backend: BackendName }[];
  /** Sample-weighted mean over the hospitals' own held-out slices (null until one reports). */
  accuracy: number | null;
  loss: number | null;
  evaluations: { hospital: string; testSamples: number; accuracy: number; loss: number }[];
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
