import { z } from 'zod';
import { MODEL_KINDS } from '@fedward/protocol';

/*
 * The privacy model card (issue 14): what a study trained, on how much data, under which privacy
 * guarantee, what left the server, and how well the model did, as one JSON document that the
 * admin can download, print (renderPrivacyCardHtml) or hand to a data-protection officer.
 * Version 1. Every figure in it is a public setting, a noised release, its ε, or a hospital's own
 * report (counts and accuracy), never anything computed from the hospitals' updates.
 */

const finite = z.number().refine(Number.isFinite, { message: 'must be a finite number' });
const count = z.number().int().nonnegative();
const fraction = finite.pipe(z.number().min(0).max(1));
const epsilonPair = z.object({ patient: finite.pipe(z.number().nonnegative()), hospital: finite.pipe(z.number().nonnegative()) });

export const wilsonIntervalSchema = z.object({ low: fraction, high: fraction });

export const cardTaskSchema = z.object({
  model: z.enum(MODEL_KINDS),
  /** 'segmentation' (U-Net: one probability per pixel) or 'classification'. */
  kind: z.enum(['classification', 'segmentation']),
  inputSize: z.number().int().positive(),
  channels: z.number().int().positive(),
  classes: z.number().int().positive(),
  /** Class names in output order, when the study knows them. */
  labels: z.array(z.string()).nullable(),
  normalization: z.enum(['unit', 'zscore']),
});

export const cardStudySchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  task: cardTaskSchema,
  rounds: z.object({ planned: z.number().int().positive(), run: count }),
  strategy: z.object({
    aggregation: z.enum(['fedavg', 'fedadam', 'fednova']),
    personalization: z.enum(['fedavg', 'fedbn', 'prr-fl']),
  }),
  training: z.object({
    epochs: z.number().int().positive(),
    batchSize: z.number().int().positive(),
    learningRate: finite.pipe(z.number().positive()),
    optimizer: z.enum(['adam', 'amsgrad', 'sgd']),
  }),
});

/** Counts only: how many slices each hospital trained and tested on, as the hospital reported them. */
export const cardHospitalDataSchema = z.object({
  hospital: z.string().min(1),
  trainSlices: count,
  testSlices: count,
  /** Whether its slices carry patient ids: all, some, none; null when the hospital did not say (Node clients). */
  patientIds: z.enum(['all', 'some', 'none']).nullable(),
});

/** One DP round as the ledger entered it (the server's DpRoundView, per round). */
export const ledgerEntrySchema = z.object({
  round: z.number().int().positive(),
  mechanism: z.literal('discrete-gaussian'),
  /** False under the median clip: ε is ∞ (epsilon is null). */
  private: z.boolean(),
  /** z: the noise's standard deviation on the sum is z·C. */
  noiseMultiplier: finite.pipe(z.number().positive()),
  /** C this round: the largest L2 norm one update may have. */
  clip: finite.pipe(z.number().positive()),
  clipRule: z.enum(['fixed', 'median', 'quantile']),
  /** M: updates summed this round. */
  updates: count,
  /** VN: updates each hospital sent this round (its sub-clients), and how VN was chosen. */
  virtualClients: z.number().int().positive(),
  vnRule: z.enum(['fixed', 'heuristic', 'adaptive']),
  strategy: z.enum(['fedavg', 'fedadam', 'fednova']),
  /** The adaptive rule's probe round: only a noised norm sum was released, the model did not move. */
  probe: z.boolean(),
  /** What this round released, each with its own noise. */
  released: z.array(z.enum(['sum', 'count', 'norm-sum'])),
  /** The relation the budget guards. */
  unit: z.enum(['patient', 'hospital']),
  /** ε after this round (all rounds up to it), per patient and per hospital; null when not private. */
  epsilon: epsilonPair.nullable(),
  delta: z.number().gt(0).lt(1),
  accountant: z.enum(['rdp', 'gdp']),
});

export const cardPrivacySchema = z.object({
  mechanism: z.literal('discrete-gaussian'),
  accountant: z.enum(['rdp', 'gdp']),
  delta: z.number().gt(0).lt(1),
  unit: z.enum(['patient', 'hospital']),
  targetEpsilon: finite.pipe(z.number().positive()),
  noiseMultiplier: finite.pipe(z.number().positive()),
  clipNorm: finite.pipe(z.number().positive()),
  clipRule: z.enum(['fixed', 'median', 'quantile']),
  /** How the updates per hospital per round (sub-clients) are chosen, and the number the next round asks for. */
  subClients: z.object({ mode: z.enum(['fixed', 'heuristic', 'adaptive']), next: z.number().int().positive() }),
  /** False under the median clip: no finite ε holds. */
  private: z.boolean(),
  /** The neighbouring relations, in the server's plain words. */
  relations: z.object({ patient: z.string(), hospital: z.string() }),
  /** ε spent after the last round run; null when not private. */
  spent: epsilonPair.nullable(),
  warnings: z.array(z.string()),
  /** Every DP round, in order. */
  ledger: z.array(ledgerEntrySchema),
});

export const cardEvaluationSchema = z.object({
  round: count,
  hospital: z.string().min(1),
  testSlices: z.number().int().positive(),
  /** Classifiers: share of held-out slices classified right; U-Net: share of pixels. As the hospital reported it. */
  accuracy: fraction,
  /** 95% Wilson interval over slices; null for pixel accuracy (pixels of a slice are not independent draws). */
  ci95: wilsonIntervalSchema.nullable(),
  loss: finite,
  /** PRR-FL: the deputy model's figures on the same slices. */
  deputy: z.object({ accuracy: fraction, ci95: wilsonIntervalSchema.nullable(), loss: finite }).nullable(),
  /** Fewer than 30 held-out slices: the figure is a rough guide. */
  tooSmall: z.boolean(),
  note: z.string().nullable(),
});

export const privacyCardSchema = z.object({
  format: z.literal('fedward.privacy-card'),
  version: z.literal(1),
  /** ISO 8601, UTC. */
  createdAt: z.iso.datetime(),
  software: z.object({ name: z.literal('Fedward'), version: z.string().min(1) }),
  /** SHA-256 of the study plan the hospitals accepted; null when there is none. */
  planDigest: z.string().min(1).nullable(),
  /** A hospital's own copy (its name): other hospitals' counts and results are left out. Null: the study's full card. */
  copyFor: z.string().min(1).nullable(),
  study: cardStudySchema,
  data: z.array(cardHospitalDataSchema),
  /** Null: the study ran without differential privacy. */
  privacy: cardPrivacySchema.nullable(),
  /** What leaves the server, in plain sentences. */
  releasePolicy: z.array(z.string().min(1)),
  evaluation: z.array(cardEvaluationSchema),
  /** Caveats that apply to every evaluation row. */
  evaluationNotes: z.array(z.string()),
});

export type PrivacyCard = z.infer<typeof privacyCardSchema>;
export type CardTask = z.infer<typeof cardTaskSchema>;
export type CardHospitalData = z.infer<typeof cardHospitalDataSchema>;
export type CardPrivacy = z.infer<typeof cardPrivacySchema>;
export type LedgerEntry = z.infer<typeof ledgerEntrySchema>;
export type CardEvaluation = z.infer<typeof cardEvaluationSchema>;
export type WilsonInterval = z.infer<typeof wilsonIntervalSchema>;

/** Validates a card read back from JSON (throws a ZodError naming the field that does not fit). */
export function parsePrivacyCard(json: unknown): PrivacyCard {
  return privacyCardSchema.parse(json);
}
