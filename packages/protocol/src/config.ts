import { z } from 'zod';

/** Every model family, in the order the docs list them. */
export const MODEL_KINDS = ['small-cnn', 'densenet', 'unet', 'vgg-slim', 'small-cnn-vb'] as const;

/**
 * small-cnn-vb's defaults. β = 1e-3 is PRECODE's (Scheliga et al. 2022 and their reference code).
 * Their K = 256 sits on flattened conv features thousands wide, so the bottleneck is narrower than
 * its input; small-cnn's pooled features are 16 wide, and K = 16 keeps the code no wider than what
 * it encodes. Measured on the demo task (3 hospitals, 10 rounds, seeds 1–2, `npm run bench:demo
 * -- --arms hard-3,vb,vb-beta-0.1,vb-k256`): K = 16 learns it (72–97 % over three runs, small-cnn
 * 86–99 %), K = 256 stays near chance (40–65 %) with β = 0, 1e-3 or 1e-2, and K = 64 too (53–58 %):
 * with Adam each of the K paths through encoder and decoder takes a full step, so a code wider
 * than its input overshoots.
 */
export const VB_DEFAULTS = { beta: 1e-3, k: 16 } as const;

/** small-cnn-vb's bottleneck: β weighs the KL term against the task loss, K is the latent width. */
export const variationalBottleneckSchema = z.object({
  beta: z.number({ message: 'vb.beta must be a number' }).finite().min(0, 'vb.beta (the KL weight) must be ≥ 0').max(10, 'vb.beta above 10 drowns the task loss: keep it ≤ 10'),
  k: z.number().int('vb.k (latent dimensions) must be an integer').min(1, 'vb.k must be at least 1').max(4096, 'vb.k above 4096 makes an encoder too large for a browser'),
}).partial();

/** The model every hospital trains; the server builds round 0's weights from it. */
export const modelSpecSchema = z.object({
  /**
   * 'small-cnn' (the default demo classifier), 'densenet' (seed 1's ICH classifier, shrunk),
   * 'unet' (seed 1's prostate segmenter, shrunk; binary masks, soft-Dice loss) or 'vgg-slim'
   * (seed 2's VGG16_Slim_Checked, shrunk; BatchNorm with moving statistics; `width` = its first
   * block's channels, default 8) or 'small-cnn-vb' (the small CNN with PRECODE's variational
   * bottleneck before its head, Scheliga et al. 2022; settings in `vb`). See packages/models/README.md.
   */
  kind: z.enum(MODEL_KINDS),
  inputSize: z.number().int().min(8).max(512),
  channels: z.number().int().min(1).max(4),
  numClasses: z.number().int().min(2).max(100),
  seed: z.number().int().nonnegative(),
  /**
   * How every hospital scales a slice before it reaches the model: 'zscore' (per slice, the
   * default) cancels each scanner's intensity scale and offset; 'unit' keeps the windowed [0, 1].
   */
  normalization: z.enum(['unit', 'zscore']).optional(),
  /**
   * Width knob of the larger families (ignored by 'small-cnn'): DenseNet's growth rate (default
   * 12) or U-Net's first-level feature count f (default 8).
   */
  width: z.number().int().min(1).max(256).optional(),
  /**
   * The normalisation layers of 'densenet', 'unet' and 'vgg-slim': 'batch' (the default when not
   * set: today's models, batch-statistics norms or BatchNorm with moving statistics, which mix the
   * examples of a batch) or 'group' (GroupNorm with per-example statistics, γ/β per channel; needed
   * by DP-SGD). Ignored by 'small-cnn', which has no norm. See packages/models/README.md.
   */
  norm: z.enum(['batch', 'group']).optional(),
  /** The variational bottleneck of 'small-cnn-vb' (refused with any other kind); absent: VB_DEFAULTS. */
  vb: variationalBottleneckSchema.optional(),
}).refine((m) => m.vb === undefined || m.kind === 'small-cnn-vb', {
  message: "model.vb configures the variational bottleneck of model kind 'small-cnn-vb' only",
  path: ['vb'],
});
export type ModelSpec = z.infer<typeof modelSpecSchema>;

export const trainingConfigSchema = z.object({
  epochs: z.number().int().min(1).max(100),
  batchSize: z.number().int().min(1).max(1024),
  learningRate: z.number().positive().max(1),
  /** Local optimizer: Adam, Adam with AMSGrad as seed 1 uses (default 'amsgrad'), or seed 2's plain SGD. */
  optimizer: z.enum(['adam', 'amsgrad', 'sgd']).optional(),
});
export type TrainingConfig = z.infer<typeof trainingConfigSchema>;

/**
 * Client-level differential privacy on the server (DP-FedAvg on an integer grid): every update's
 * change to the global model is clipped to `clipNorm` and truncated onto an integer grid, the
 * updates are summed exactly, discrete Gaussian noise of std z·C (on the grid) is added to the sum,
 * and no round starts whose releases would take ε (at `delta`, for `unit`) past `targetEpsilon`.
 */
export const privacyConfigSchema = z
  .object({
    noiseMultiplier: z.number().positive().max(64),
    clipNorm: z.number().positive(),
    targetEpsilon: z.number().positive(),
    delta: z.number().gt(0).lt(1),
    /**
     * The neighbouring relation the budget guards: 'patient' (add or remove all slices of one
     * patient at one hospital) or 'hospital' (change anything in one hospital's data).
     */
    unit: z.enum(['patient', 'hospital']),
    /** The discrete Gaussian is accounted with RDP (zCDP); 'gdp' is refused. */
    accountant: z.enum(['rdp', 'gdp']),
    /**
     * Sub-clients (intermediaries) per hospital: a fixed VN set by the admin; 'heuristic' (default
     * when not set: ⌊√(z·√d/N)⌋ from public quantities only, re-computed when N changes); or
     * 'adaptive' (Jiang et al. 2023 on PRIVATE inputs: a probe round releases only a noised
     * Σ min(‖Δ_j‖, C), then VN is re-chosen after every round from the noised norm sum).
     */
    virtualClients: z.union([z.number().int().min(1).max(1000), z.literal('heuristic'), z.literal('adaptive')]).optional(),
    /** Variant of the adaptive rule (seed spec §1.5). */
    vnRule: z.enum(['default', 'ada_stable', 'ada_prog']).optional(),
    /**
     * How C is chosen: 'fixed' (clipNorm); 'quantile' (Andrew et al. 2021: a noised, accounted
     * count steers C towards the target quantile, starting from clipNorm); or 'median' (the seed's
     * min(median of this round's raw norms, 25): NOT private, ε is shown as ∞). Default 'fixed'.
     */
    clipRule: z.enum(['fixed', 'median', 'quantile']).optional(),
    /** σ_b of the quantile rule's count noise (default z). */
    countNoise: z.number().positive().max(10_000).optional(),
    /** Noise multiplier of the adaptive rule's norm sum, relative to C (default z). */
    normSumNoise: z.number().positive().max(64).optional(),
  })
  .refine((p) => p.accountant === 'rdp', {
    message: "the discrete Gaussian is accounted with RDP (zCDP); its GDP guarantee is not the continuous one's: use accountant 'rdp'",
    path: ['accountant'],
  });
export type PrivacyConfig = z.infer<typeof privacyConfigSchema>;

export const personalizationConfigSchema = z.object({
  strategy: z.enum(['fedavg', 'fedbn', 'prr-fl']),
  /** PRR-FL: share of each spectral axis averaged at round 0 (the seed's --l_rate); grows to 0.95. */
  lRate: z.number().gt(0).lt(1).optional(),
  /** PRR-FL: divide the summed amplitudes by the number of hospitals ('clients'), or by the seed's literal 4. */
  divisor: z.enum(['clients', 'seed-4']).optional(),
});
export type PersonalizationConfig = z.infer<typeof personalizationConfigSchema>;

export const federationConfigSchema = z.object({
  id: z.string().min(1),
  name: z.string().min(1),
  rounds: z.number().int().min(1).max(10_000),
  /** Hospitals that must be connected before a round starts. */
  minClients: z.number().int().min(1).max(10_000),
  /** Valid updates needed to release an aggregate (defaults to minClients): never average fewer. */
  minUpdates: z.number().int().min(1).max(10_000).optional(),
  roundDeadlineMs: z.number().int().min(1_000),
  /** An upload that sends nothing for this long is cancelled and its hospital leaves the round (default 60 s). */
  uploadStallMs: z.number().int().min(1_000).max(3_600_000).optional(),
  /** Largest accepted update, in bytes of the binary weights payload. */
  maxUpdateBytes: z.number().int().positive(),
  /** Uploads arrive in chunks no larger than this; Socket.io's buffer limit is sized from it. */
  chunkBytes: z.number().int().min(1024),
  model: modelSpecSchema,
  training: trainingConfigSchema,
  /**
   * How the server turns the (noised) average update A into the next global model (seed spec
   * §1.6): FedAvg θ += A; FedAdam (server-side Adam, rate serverLearningRate); FedNova (each
   * update normalised by its local step count). Default FedAvg.
   */
  aggregation: z
    .object({
      strategy: z.enum(['fedavg', 'fedadam', 'fednova']).default('fedavg'),
      serverLearningRate: z.number().positive().max(10).optional(),
      /**
       * FedNova under DP: the public local step count of one hospital's round; the released mean
       * is scaled by τ̄ = this/VN (the updates' own step counts are private, so they may shape each
       * clipped update but never the release).
       */
      publicSteps: z.number().int().min(1).max(1_000_000).optional(),
      /**
       * Without DP, bound what one hospital can do to the model (each update gets one vote):
       * 'norm-bound' scales each change to L2 norm ≤ normBound; 'median' takes the coordinate-wise
       * median; 'trimmed-mean' drops the `trim` fraction at each end per coordinate. Under DP the
       * clip already bounds every update, and these would change what the accountant covers.
       */
      robust: z
        .discriminatedUnion('rule', [
          z.object({ rule: z.literal('norm-bound'), normBound: z.number().positive().max(1e6) }),
          z.object({ rule: z.literal('median') }),
          z.object({ rule: z.literal('trimmed-mean'), trim: z.number().min(0).max(0.49) }),
        ])
        .optional(),
    })
    .optional(),
  privacy: privacyConfigSchema.optional(),
  /**
   * Personalization (issue 7): 'fedavg' sends everyone the same average; 'fedbn' keeps each
   * hospital's normalisation tensors local and averages the rest; 'prr-fl' (Chen et al. 2021)
   * trains a personalized model that never leaves the hospital next to a deputy that is
   * exchanged through Progressive Fourier Aggregation, one result per hospital.
   */
  personalization: personalizationConfigSchema.optional(),
  /**
   * DP-SGD inside each hospital (issue 16): every local step samples records (patients, when the
   * slices carry patient ids; slices otherwise), clips each record's gradient to `clip`, and adds
   * discrete Gaussian noise of std noiseMultiplier·clip to their sum. Each hospital stops its local
   * training before its own ε per record would pass `targetEpsilon` at `delta`.
   * `sampling`: 'poisson' (each record with probability q = batchSize/records; accounted with the
   * strict RDP bound) or 'uniform' (exactly batchSize records without replacement, deepee's sampler;
   * accounted with deepee's GDP CLT formulas, an approximation). `reduction`: 'sum' (default, the
   * textbook G = (Σ clip(g_i) + N(0, σ²C²))/B) or 'mean' (deepee's mean-reduction scaling,
   * G = (1/B)·Σ clip_C(g_i/B) + N(0, (σC/B)²)).
   */
  dpSgd: z
    .object({
      noiseMultiplier: z.number().positive().max(64),
      clip: z.number().positive().max(1e6),
      targetEpsilon: z.number().positive().max(1000),
      delta: z.number().gt(0).lt(1),
      sampling: z.enum(['poisson', 'uniform']),
      reduction: z.enum(['sum', 'mean']).optional(),
    })
    .optional(),
  /**
   * Secure aggregation (issue 15): hospitals clip and encode their own updates on the DP grid and
   * upload them masked; the server unmasks only the sum of at least `threshold` participants, then
   * adds the DP noise as without it. Needs DP with the fixed or quantile clip.
   */
  secureAggregation: z
    .object({
      threshold: z.number().int().min(2).max(1000),
      /** How long each stage after the key advertisement waits for answers (default 60 s). */
      stageTimeoutMs: z.number().int().min(1_000).max(3_600_000).optional(),
    })
    .optional(),
})
  .refine((c) => !(c.privacy && c.personalization && c.personalization.strategy !== 'fedavg'), {
    message: 'client-level DP needs the fedavg personalization strategy: FedBN and PRR-FL release per-hospital results the DP accounting does not cover',
    path: ['personalization'],
  })
  .refine((c) => c.personalization?.strategy !== 'prr-fl' || c.model.kind === 'vgg-slim' || c.model.kind === 'densenet', {
    message: "PRR-FL trains a personalized and a deputy classifier: use model kind 'vgg-slim' (or 'densenet')",
    path: ['model', 'kind'],
  })
  .refine((c) => !(c.privacy && c.aggregation?.robust), {
    message: 'robust aggregation is for federations without DP: under DP the clip bounds every update, and the accountant covers the noised mean only',
    path: ['aggregation', 'robust'],
  })
  .refine((c) => !c.dpSgd || c.model.kind === 'small-cnn' || c.model.kind === 'small-cnn-vb' || c.model.norm === 'group', {
    message:
      "DP-SGD clips each record's own gradient, so no layer may mix the examples of a batch: densenet, unet and vgg-slim with model.norm 'batch' (the default) normalise with batch statistics; set model.norm 'group' (GroupNorm, per-example statistics) or use small-cnn (or small-cnn-vb)",
    path: ['model', 'norm'],
  })
  .refine((c) => !(c.dpSgd && c.privacy && c.privacy.virtualClients !== 1), {
    message: 'DP-SGD with client-level DP needs one update per hospital (virtualClients 1): each hospital accounts its records over one training run',
    path: ['privacy', 'virtualClients'],
  })
  .refine((c) => !(c.dpSgd && c.personalization && c.personalization.strategy !== 'fedavg'), {
    message: 'DP-SGD trains the shared model only: use the fedavg personalization strategy',
    path: ['personalization'],
  })
  .refine((c) => !c.secureAggregation || (c.privacy !== undefined && (c.privacy.clipRule ?? 'fixed') !== 'median'), {
    message: 'secure aggregation needs DP with the fixed or quantile clip (--dp): the server sees only the sum, so it cannot clip single updates or take the median of their norms',
    path: ['secureAggregation'],
  })
  .refine((c) => !c.secureAggregation || c.secureAggregation.threshold <= c.minClients, {
    message: 'the secure aggregation threshold must be at most the hospitals a round starts with (minClients): a round with fewer than t participants could never complete',
    path: ['secureAggregation', 'threshold'],
  })
  .refine((c) => !(c.privacy && c.aggregation?.strategy === 'fednova' && c.aggregation.publicSteps === undefined), {
    message: 'FedNova under DP needs a public step count τ̄ (aggregation.publicSteps, --server-tau): the hospitals\' own step counts are private',
    path: ['aggregation', 'publicSteps'],
  });
export type FederationConfig = z.infer<typeof federationConfigSchema>;

/** DP-SGD's sampler (`dpSgd.sampling`). */
export type DpSgdSampling = NonNullable<FederationConfig['dpSgd']>['sampling'];

/**
 * What the pages say next to a hospital's DP-SGD ε, so nobody reads the two as the same kind of
 * figure: Poisson's is the strict RDP bound; uniform's is deepee's GDP central-limit approximation.
 */
export const DP_SGD_ACCOUNTANT_LABELS: Readonly<Record<DpSgdSampling, string>> = Object.freeze({
  poisson: 'RDP, Poisson sampling',
  uniform: 'GDP (CLT approximation, deepee), uniform sampling',
});
