import { z } from 'zod';

/** The model every hospital trains; the server builds round 0's weights from it. */
export const modelSpecSchema = z.object({
  kind: z.literal('small-cnn'),
  inputSize: z.number().int().min(8).max(512),
  channels: z.number().int().min(1).max(4),
  numClasses: z.number().int().min(2).max(100),
  seed: z.number().int().nonnegative(),
  /**
   * How every hospital scales a slice before it reaches the model: 'zscore' (per slice, the
   * default) cancels each scanner's intensity scale and offset; 'unit' keeps the windowed [0, 1].
   */
  normalization: z.enum(['unit', 'zscore']).optional(),
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

export const trainingConfigSchema = z.object({
  epochs: z.number().int().min(1).max(100),
  batchSize: z.number().int().min(1).max(1024),
  learningRate: z.number().positive().max(1),
});
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

/**
 * Client-level differential privacy on the server (DP-FedAvg): every update's change to the global
 * model is clipped to `clipNorm`, the uniform average gets Gaussian noise of std z·C/M, and no
 * round starts whose release would take ε (at `delta`, for `unit`) past `targetEpsilon`.
 */
export const privacyConfigSchema = z.object({
  noiseMultiplier: z.number().positive(),
  clipNorm: z.number().positive(),
  targetEpsilon: z.number().positive(),
  delta: z.number().gt(0).lt(1),
  /** Whose privacy the budget protects: a whole hospital, or one of its sub-clients (issue 5). */
  unit: z.enum(['hospital', 'sub-client']),
  accountant: z.enum(['rdp', 'gdp']),
});
export type PrivacyConfig = z.infer<typeof privacyConfigSchema>;

export const federationConfigSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  rounds: z.number().int().min(1).max(10_000),
  /** Hospitals that must be connected before a round starts. */
  minClients: z.number().int().min(1).max(10_000),
  /** Valid updates needed to release an aggregate (defaults to minClients): never average fewer. */
  minUpdates: z.number().int().min(1).max(10_000).optional(),
  roundDeadlineMs: z.number().int().min(1_000),
  /** Largest accepted update, in bytes of the binary weights payload. */
  maxUpdateBytes: z.number().int().positive(),
  /** Uploads arrive in chunks no larger than this; Socket.io's buffer limit is sized from it. */
  chunkBytes: z.number().int().min(1024),
  model: modelSpecSchema,
  training: trainingConfigSchema,
  privacy: privacyConfigSchema.optional(),
});
export type FederationConfig = z.infer<typeof federationConfigSchema>;
