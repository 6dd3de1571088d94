import { z } from 'zod';
import { MODEL_KINDS, type federationConfigSchema } from './config';
import type { SecAggKeys, SecAggReveal, SecAggRoster, SecAggRoundSettings, SecAggShares, SecAggSharesIn, SecAggUnmask, SecAggView } from './secagg-messages';

/*
 * Every event that crosses the wire, with the schema the receiving side validates it against.
 * Binary fields (weights, chunks) are checked by `binarySchema` here and decoded by the weights codec.
 */

export const binarySchema = z.custom<Uint8Array | ArrayBuffer>(
  (v) => v instanceof ArrayBuffer || ArrayBuffer.isView(v),
  { message: 'expected binary data (ArrayBuffer/Uint8Array)' },
);

const finite = z.number().refine(Number.isFinite, { message: 'must be a finite number' });
/** Hospital-reported figures are bounded before any arithmetic: a sum of them can never overflow. */
const MAX_COUNT = 1_000_000_000;
const count = z.number().int().nonnegative().max(MAX_COUNT);
const metric = finite.pipe(z.number().min(-1e6).max(1e6));

export const BACKENDS = ['webgpu', 'webgl', 'wasm', 'cpu'] as const;
export const backendSchema = z.enum(BACKENDS);
export type BackendName = z.infer<typeof backendSchema>;

// ---- hospital → server -------------------------------------------------------------------

export const helloSchema = z.object({
  backend: backendSchema,
  trainSamples: count,
  testSamples: count,
  /**
   * Whether the hospital's slices are grouped by patient ids: for every slice, some, or none.
   * Without an id a slice is its own unit, so "per patient" figures are per slice for it.
   * Absent when the client does not know (Node clients).
   */
  patientIds: z.enum(['all', 'some', 'none']).optional(),
  /**
   * SHA-256 of the study plan the hospital reviewed and accepted (plan.ts). The server refuses a
   * hello whose digest is not the study's current plan. Absent for Node clients run by researchers.
   */
  planDigest: z.string().regex(/^[0-9a-f]{64}$/, 'a SHA-256 digest in hex').optional(),
});
export type Hello = z.infer<typeof helloSchema>;

export const updateBeginSchema = z.object({
  round: z.number().int().positive(),
  /** 0 for an empty sub-client (it still uploads, so a hospital's update count never depends on its data). */
  trainSamples: count,
  trainLoss: metric,
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
  /**
   * Secure aggregation: the payload is this hospital's masked sum (uint32 little-endian ring
   * elements, not weights) over `updates` sub-client updates, at most the VN asked for.
   */
  masked: z.object({ updates: z.number().int().positive().max(1000) }).optional(),
  /** DP-SGD: this hospital's own ε per record after the training this update came from (public: settings, step counts and its record count). */
  dpSgdEpsilon: finite.pipe(z.number().min(0).max(1e6)).optional(),
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
  testSamples: count.pipe(z.number().positive()),
  accuracy: finite.pipe(z.number().min(0).max(1)),
  loss: metric,
  /** PRR-FL: the metrics above are the personalized model's; these are the deputy's on the same slices. */
  deputy: z.object({ accuracy: finite.pipe(z.number().min(0).max(1)), loss: metric }).optional(),
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

/**
 * The study's privacy budget as a hospital sees it: public settings and the ε spent so far
 * (post-processing of the ledger, the same figures the admin sees). Null when the study has no DP.
 */
export interface HospitalPrivacyView {
  unit: 'patient' | 'hospital';
  targetEpsilon: number;
  delta: number;
  /** False under the median clip: ε is ∞. */
  private: boolean;
  /** ε spent so far per patient and per hospital (0 before the first DP round). */
  spent: { patient: number; hospital: number } | null;
  relations: { patient: string; hospital: string };
}

export interface Welcome {
  hospital: string;
  /** The study's privacy budget (null without DP). */
  privacy: HospitalPrivacyView | null;
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
  /** Secure aggregation's settings for this round; absent without it. */
  secagg?: SecAggRoundSettings;
}

export interface RoundResult {
  round: number;
  participants: number;
  /** The budget after this round (null without DP). */
  privacy: HospitalPrivacyView | null;
  weights: Uint8Array | ArrayBuffer;
  /** Under secure aggregation: who took part at each stage, and that the server saw only the sum. */
  secagg?: SecAggView;
}

export interface ProtocolError {
  code:
    | 'bad-message'
    | 'bad-weights'
    | 'too-large'
    | 'not-participant'
    | 'wrong-round'
    | 'unauthorized'
    | 'timeout'
    | 'plan-changed'
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
  'secagg-keys': (msg: SecAggKeys, ack: (r: Ack) => void) => void;
  'secagg-shares': (msg: SecAggShares, ack: (r: Ack) => void) => void;
  'secagg-reveal': (msg: SecAggReveal, ack: (r: Ack) => void) => void;
}

export interface ServerToHospital {
  'round-start': (msg: RoundStart) => void;
  'round-result': (msg: RoundResult) => void;
  'federation-done': (msg: { round: number; reason?: string }) => void;
  'protocol-error': (err: ProtocolError) => void;
  'secagg-roster': (msg: SecAggRoster) => void;
  'secagg-shares-in': (msg: SecAggSharesIn) => void;
  'secagg-unmask': (msg: SecAggUnmask) => void;
}

// ---- admin ↔ server ---------------------------------------------------------------------

export const PHASES = ['waiting', 'training', 'aggregating', 'done'] as const;
export type Phase = (typeof PHASES)[number];

/**
 * Where a hospital stands, as the admin sees it:
 * - offline: no connection; starting: connected, has not said hello yet; ready: said hello, waits for a round;
 * - training / uploaded: in the current round, update not yet complete / complete;
 * - backing-off: missed a round's deadline, left out of rounds until `until`;
 * - skipped: the admin left it out of rounds until re-admitted.
 */
export const HOSPITAL_STATES = ['offline', 'starting', 'ready', 'training', 'uploaded', 'backing-off', 'skipped'] as const;
export type HospitalState = (typeof HOSPITAL_STATES)[number];

export interface HospitalView {
  name: string;
  connected: boolean;
  state: HospitalState;
  /** Why it is in that state, in plain words (e.g. "missed the deadline of round 3; back in 2 min"). */
  note?: string;
  /** Back-off: when it may join rounds again (ms since epoch). */
  until?: number;
  /** Last message or heartbeat from it (ms since epoch); null when never seen since the server started. */
  lastSeen: number | null;
  /** What the hospital said of its patient ids at hello: 'all' (per-patient ε is per patient there), or not (per slice for those without). */
  patientIds?: 'all' | 'some' | 'none';
  backend: BackendName | null;
  status: HospitalStatus | null;
  trainSamples: number;
  testSamples: number;
}

/**
 * One noised release of a DP round, as the ledger enters it. Released objects are integers on
 * the round's grid plus discrete Gaussian noise; everything shown or stored is one of these, a
 * public setting, or post-processing of them.
 */
export interface DpReleaseView {
  /**
   * 'sum': the noised integer sum of the clipped updates (the model update); 'count': the quantile
   * rule's noised count of updates under C; 'norm-sum': the adaptive VN rule's noised Σ min(‖Δ_j‖, C).
   */
  what: 'sum' | 'count' | 'norm-sum';
  /** Std of its integer noise (grid units; count units for 'count'). */
  sigma: number;
  /** How far replacing ONE update can move it (L2): 2·bound for the sum, 1 for the count, bound for the norm sum. */
  perUpdate: number;
}

/** A DP round as it was released: public settings, the released (noised) values, and the ε after it. */
export interface DpRoundView {
  mechanism: 'discrete-gaussian';
  /** False under the median clip, whose C is an un-noised statistic of the updates: ε is ∞. */
  private: boolean;
  clipRule: 'fixed' | 'median' | 'quantile';
  /** C this round (fixed, or from earlier noised releases; the median rule's is the leak). */
  clip: number;
  /** z: the update noise's std on the sum is z·C. */
  noiseMultiplier: number;
  /** The integer grid: grid units per model unit, and C on the grid. */
  grid: { scale: number; bound: number };
  /** Std of the noise on the released average, in model units: σ_grid·τ̄/(scale·M). */
  sigma: number;
  /** M, the number of updates summed (public: the server sees every upload). */
  updates: number;
  /** VN asked of every hospital this round (each sends exactly VN updates), and how it was chosen. */
  virtualClients: number;
  vnRule: 'fixed' | 'heuristic' | 'adaptive';
  strategy: 'fedavg' | 'fedadam' | 'fednova';
  /** FedNova's public τ̄ (1 for the other strategies). */
  tauEff: number;
  /** The adaptive rule's probe round: only its noised norm sum was released; the model did not move. */
  probe: boolean;
  releases: DpReleaseView[];
  /** Quantile rule: the noised count, the fraction clamp(b̃/M, 0, 1), and C for the next round. */
  quantile: { noisedCount: number; fraction: number; nextClip: number } | null;
  /** Adaptive rule: the noised Σ min(‖Δ_j‖, C) (model units), λ̃ = σ√d/that, v = √(N·λ̃), and the VN it chose. */
  adaptive: { noisedNormSum: number; lambda: number; v: number; next: number; clamped: boolean } | null;
  /** VN the next round asks for. */
  nextVirtualClients: number;
  /** ε (at the federation's δ) after this round, per patient and per hospital; null when not private. */
  epsilon: { patient: number; hospital: number } | null;
}

export interface PrivacyView {
  /** The relation the budget guards. */
  unit: 'patient' | 'hospital';
  targetEpsilon: number;
  delta: number;
  accountant: 'rdp' | 'gdp';
  noiseMultiplier: number;
  clipNorm: number;
  clipRule: 'fixed' | 'median' | 'quantile';
  mechanism: 'discrete-gaussian';
  /** False under the median clip: ε is ∞ and no finite figure is shown. */
  private: boolean;
  /** The neighbouring relations, in plain words. */
  relations: { patient: string; hospital: string };
  /** Sub-clients per hospital: how VN is chosen, and the VN the next round asks for. */
  virtualClients: { mode: 'fixed' | 'heuristic' | 'adaptive'; next: number };
  /** ε spent so far (null when not private). */
  spent: { patient: number; hospital: number } | null;
  /** ε after the next round, and whether the budget allows it (null when not private). */
  next: { patient: number; hospital: number; allowed: boolean } | null;
  warnings: string[];
}

export interface RoundView {
  round: number;
  dp: DpRoundView | null;
  /** `dpSgdEpsilon`: under DP-SGD, the hospital's own ε per record after this round's training (its report). */
  participants: { hospital: string; trainSamples: number; trainLoss: number; backend: BackendName; subClients: number; dpSgdEpsilon?: number }[];
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
  status: StudyStatus;
  /** Whether settings that change the privacy guarantee are frozen (a round has run). */
  frozen: boolean;
  phase: Phase;
  /** The round being trained, or the next one to start. */
  round: number;
  deadline: number | null;
  hospitals: HospitalView[];
  rounds: RoundView[];
  tokens: TokenView[];
  /** Hospitals enrolled in this study. */
  enrolled: string[];
  log: LogEntry[];
  privacy: PrivacyView | null;
  /** Secure aggregation of the round under way, or else of the last one (null without it). */
  secagg: SecAggView | null;
  /** Why the federation stopped before its last round (e.g. the privacy budget), if it did. */
  stopReason: string | null;
}

/**
 * A study's life: 'draft' (being set up: settings may change, no round starts), 'running',
 * 'paused' (the round under way finishes, no new one starts), 'stopped' (for good).
 */
export const STUDY_STATUSES = ['draft', 'running', 'paused', 'stopped'] as const;
export type StudyStatus = (typeof STUDY_STATUSES)[number];

/** One study in the lists the admin and the hospitals see. */
export interface StudySummary {
  id: string;
  name: string;
  status: StudyStatus;
  phase: Phase;
  /** Last finished round, and the rounds planned. */
  round: number;
  rounds: number;
  /** Hospitals enrolled in it. */
  hospitals: number;
  /** Whether settings that change the privacy guarantee are frozen (a round has run). */
  frozen: boolean;
}

export interface LogEntry {
  at: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

const hospitalNameSchema = z
  .string()
  .trim()
  .min(1)
  .max(80)
  .regex(/^[\p{L}\p{N} ._-]+$/u, 'letters, digits, spaces, dots, dashes and underscores only');

/** Study ids: short, readable, safe in URLs and file names. */
export const studyIdSchema = z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/, 'lower-case letters, digits and dashes, at most 63');
const inStudy = { study: studyIdSchema };

/** Create a token for a hospital and enrol it in the study (a hospital may hold several tokens). */
export const createTokenSchema = z.object({ ...inStudy, hospital: hospitalNameSchema });
export const revokeTokenSchema = z.object({ id: z.number().int().positive() });

/** End the current round now: it aggregates if at least minUpdates updates arrived, otherwise it is cancelled and run again. */
export const endRoundSchema = z.object({ ...inStudy, round: z.number().int().positive() });
/** Leave a hospital out of rounds (it is dropped from the current one) or let it back in (also ends a back-off). */
export const skipHospitalSchema = z.object({ ...inStudy, hospital: hospitalNameSchema, skip: z.boolean() });
/** Move the current round's deadline to `seconds` from now. */
export const setDeadlineSchema = z.object({ ...inStudy, round: z.number().int().positive(), seconds: z.number().int().min(5).max(7 * 24 * 3600) });
/** Enrol a hospital that already has a token in one more study (or take it out of one). */
export const enrolHospitalSchema = z.object({ ...inStudy, hospital: hospitalNameSchema, enrolled: z.boolean() });
/** Which study's snapshots this admin connection receives. */
export const watchStudySchema = z.object(inStudy);
export const studyControlSchema = z.object({ ...inStudy, action: z.enum(['start', 'pause', 'resume', 'stop']) });

/**
 * A new study's settings, as the admin's form gives them; the server fills the rest from its
 * defaults (the start flags). Privacy: give z, or leave it out and the server calibrates the
 * smallest z that keeps ε within the target over all the rounds.
 */
export const studySettingsSchema = z.object({
  name: z.string().trim().min(1).max(120),
  rounds: z.number().int().min(1).max(10_000),
  minClients: z.number().int().min(1).max(10_000),
  roundDeadlineMs: z.number().int().min(10_000).max(7 * 24 * 3600_000),
  model: z.object({
    kind: z.enum(MODEL_KINDS),
    inputSize: z.number().int().min(8).max(512),
    numClasses: z.number().int().min(2).max(100),
    /** The model's norm layers (ModelSpec.norm); absent: 'batch'. 'group' = GroupNorm, needed by DP-SGD. */
    norm: z.enum(['batch', 'group']).optional(),
  }),
  training: z.object({
    epochs: z.number().int().min(1).max(100),
    batchSize: z.number().int().min(1).max(1024),
    learningRate: z.number().positive().max(1),
    optimizer: z.enum(['adam', 'amsgrad', 'sgd']),
  }),
  aggregation: z.enum(['fedavg', 'fedadam', 'fednova']),
  personalization: z.enum(['fedavg', 'fedbn', 'prr-fl']),
  privacy: z
    .object({
      unit: z.enum(['patient', 'hospital']),
      targetEpsilon: z.number().positive().max(1000),
      delta: z.number().gt(0).lt(1),
      clipNorm: z.number().positive().max(1e6),
      /** Absent: calibrated from the target ε. */
      noiseMultiplier: z.number().positive().max(64).optional(),
      virtualClients: z.union([z.number().int().min(1).max(1000), z.literal('heuristic'), z.literal('adaptive')]),
      /** Secure aggregation's threshold t (absent: off). */
      secureAggregationThreshold: z.number().int().min(2).max(1000).optional(),
    })
    .nullable(),
});
export type StudySettings = z.infer<typeof studySettingsSchema>;
export const createStudySchema = z.object({ settings: studySettingsSchema });
/** Change a study's settings; once a round has run, only its name, rounds, minimum hospitals and deadline. */
export const updateStudySchema = z.object({ ...inStudy, settings: studySettingsSchema });

export const auditQuerySchema = z.object({ limit: z.number().int().min(1).max(10_000).optional() });
export const changePasswordSchema = z.object({ current: z.string().min(1).max(1024), next: z.string().min(12, 'at least 12 characters').max(1024) });
/** POST /api/admin/login body; the answer is `AdminSession` (or 401 / 429 with Retry-After). */
export const adminLoginSchema = z.object({ password: z.string().min(1).max(1024) });

export interface AdminSession {
  /** Signed and expiring: the admin socket's `auth: { session }`, and `Authorization: Bearer` for /api/admin/*. */
  session: string;
  expiresAt: number;
}

/** One entry of the append-only audit log. `hash` chains it to the one before (SHA-256 over prev hash and the fields). */
export interface AuditEntry {
  id: number;
  at: number;
  /** 'admin' (with the address), a hospital name, or 'server'. */
  actor: string;
  action: string;
  detail: string;
  hash: string;
}

export interface AuditView {
  entries: AuditEntry[];
  /** Whether the whole chain verified; if not, the id of the first entry that does not. */
  verified: { ok: true; entries: number } | { ok: false; brokenAt: number };
}

export interface AdminToServer {
  'create-token': (msg: z.infer<typeof createTokenSchema>, ack: (r: Ack<{ token: string; id: number }>) => void) => void;
  'revoke-token': (msg: z.infer<typeof revokeTokenSchema>, ack: (r: Ack) => void) => void;
  'end-round': (msg: z.infer<typeof endRoundSchema>, ack: (r: Ack<{ outcome: 'aggregated' | 'cancelled' }>) => void) => void;
  'skip-hospital': (msg: z.infer<typeof skipHospitalSchema>, ack: (r: Ack) => void) => void;
  'set-deadline': (msg: z.infer<typeof setDeadlineSchema>, ack: (r: Ack<{ deadline: number }>) => void) => void;
  'audit-log': (msg: z.infer<typeof auditQuerySchema>, ack: (r: Ack<AuditView>) => void) => void;
  'change-password': (msg: z.infer<typeof changePasswordSchema>, ack: (r: Ack) => void) => void;
  'watch-study': (msg: z.infer<typeof watchStudySchema>, ack: (r: Ack) => void) => void;
  'create-study': (msg: z.infer<typeof createStudySchema>, ack: (r: Ack<{ id: string; calibrated: { noiseMultiplier: number } | null }>) => void) => void;
  'update-study': (msg: z.infer<typeof updateStudySchema>, ack: (r: Ack<{ calibrated: { noiseMultiplier: number } | null }>) => void) => void;
  'study-control': (msg: z.infer<typeof studyControlSchema>, ack: (r: Ack) => void) => void;
  'enrol-hospital': (msg: z.infer<typeof enrolHospitalSchema>, ack: (r: Ack) => void) => void;
}

export interface ServerToAdmin {
  /** The watched study (the server's first study until the admin picks another). */
  snapshot: (s: FederationSnapshot) => void;
  /** Every study on this server, and every hospital that holds a token. */
  studies: (s: { studies: StudySummary[]; hospitals: string[] }) => void;
  /** The session expired or the password changed: log in again. */
  'session-ended': (msg: { reason: string }) => void;
}
