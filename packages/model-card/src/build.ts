import type { DpRoundView, FederationConfig, HospitalView, PrivacyView, RoundView } from '@fedward/protocol';
import { releasePolicy } from './release-policy';
import { privacyCardSchema, type CardEvaluation, type CardPrivacy, type LedgerEntry, type PrivacyCard } from './schema';
import { MIN_TEST_SLICES, accuracyInterval } from './wilson';

/**
 * What the card is made of: the server's own views (the admin snapshot's config, hospitals,
 * rounds and privacy), plus what the snapshot does not hold. Extra fields are ignored, so a
 * `FederationSnapshot` can be spread in.
 */
export interface PrivacyCardInput {
  config: FederationConfig;
  rounds: readonly RoundView[];
  hospitals: readonly HospitalView[];
  /** The snapshot's privacy view; null exactly when the study has no DP. */
  privacy: PrivacyView | null;
  /** Fedward's version, e.g. the root package.json's or a git describe. */
  softwareVersion: string;
  /** SHA-256 (hex) of the study plan the hospitals accepted; null when there is none. */
  planDigest: string | null;
  /** Class names in output order, when the study knows them. */
  labels?: readonly string[] | null;
  /** Default: now. */
  createdAt?: Date;
}

/** The hospital app's default when the spec says nothing (apps/hospital's federation worker). */
const DEFAULT_NORMALIZATION = 'zscore';

export const EVALUATION_NOTES = {
  independence:
    'The 95% intervals (Wilson) treat every held-out slice as an independent case. Slices of one patient look alike, so the real uncertainty is wider than shown.',
  reported: 'Accuracy and loss are as each hospital reported them on its own held-out slices; they are not noised and not covered by ε.',
  pixels:
    'This model segments: its accuracy is the share of pixels labelled right, and pixels of one slice are not independent draws, so no interval is given.',
} as const;

/** Builds a version-1 privacy card and checks it against the schema (throws on a figure that does not fit). */
export function buildPrivacyCard(input: PrivacyCardInput): PrivacyCard {
  const { config, privacy } = input;
  if (Boolean(config.privacy) !== Boolean(privacy)) {
    throw new Error(config.privacy ? 'the study has DP settings but no privacy view was given' : 'a privacy view was given for a study without DP');
  }
  const model = config.model;
  const segmentation = model.kind === 'unet';
  const labels = input.labels ?? null;
  const classes = segmentation ? 1 : model.numClasses;
  if (labels && labels.length !== classes) throw new Error(`the ${model.kind} has ${classes} output class(es): give ${classes} label(s), not ${labels.length}`);
  const rounds = [...input.rounds].sort((a, b) => a.round - b.round);

  const card: PrivacyCard = {
    format: 'fedward.privacy-card',
    version: 1,
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    software: { name: 'Fedward', version: input.softwareVersion },
    planDigest: input.planDigest,
    copyFor: null,
    study: {
      id: config.id,
      name: config.name,
      task: {
        model: model.kind,
        kind: segmentation ? 'segmentation' : 'classification',
        inputSize: model.inputSize,
        channels: model.channels,
        classes,
        labels: labels ? [...labels] : null,
        normalization: model.normalization ?? DEFAULT_NORMALIZATION,
      },
      rounds: { planned: config.rounds, run: rounds.filter((r) => r.completedAt !== null).length },
      strategy: { aggregation: config.aggregation?.strategy ?? 'fedavg', personalization: config.personalization?.strategy ?? 'fedavg' },
      training: {
        epochs: config.training.epochs,
        batchSize: config.training.batchSize,
        learningRate: config.training.learningRate,
        optimizer: config.training.optimizer ?? 'amsgrad',
      },
    },
    data: input.hospitals.map((h) => ({ hospital: h.name, trainSlices: h.trainSamples, testSlices: h.testSamples, patientIds: h.patientIds ?? null })),
    privacy: privacy ? cardPrivacy(privacy, rounds) : null,
    releasePolicy: releasePolicy(config, privacy),
    evaluation: rounds.flatMap((r) => r.evaluations.map((e) => evaluationRow(r.round, e, segmentation))),
    evaluationNotes: segmentation ? [EVALUATION_NOTES.pixels, EVALUATION_NOTES.reported] : [EVALUATION_NOTES.independence, EVALUATION_NOTES.reported],
  };
  return privacyCardSchema.parse(card);
}

function cardPrivacy(view: PrivacyView, rounds: readonly RoundView[]): CardPrivacy {
  return {
    mechanism: view.mechanism,
    accountant: view.accountant,
    delta: view.delta,
    unit: view.unit,
    targetEpsilon: view.targetEpsilon,
    noiseMultiplier: view.noiseMultiplier,
    clipNorm: view.clipNorm,
    clipRule: view.clipRule,
    subClients: { mode: view.virtualClients.mode, next: view.virtualClients.next },
    private: view.private,
    relations: { patient: view.relations.patient, hospital: view.relations.hospital },
    spent: view.spent ? { ...view.spent } : null,
    warnings: [...view.warnings],
    ledger: rounds.flatMap((r) => (r.dp ? [ledgerEntry(r.round, r.dp, view)] : [])),
  };
}

/** One ledger row: the round's DP view as released, with the study's δ, unit and accountant. */
export function ledgerEntry(round: number, dp: DpRoundView, view: Pick<PrivacyView, 'unit' | 'delta' | 'accountant'>): LedgerEntry {
  return {
    round,
    mechanism: dp.mechanism,
    private: dp.private,
    noiseMultiplier: dp.noiseMultiplier,
    clip: dp.clip,
    clipRule: dp.clipRule,
    updates: dp.updates,
    virtualClients: dp.virtualClients,
    vnRule: dp.vnRule,
    strategy: dp.strategy,
    probe: dp.probe,
    released: dp.releases.map((r) => r.what),
    unit: view.unit,
    epsilon: dp.epsilon ? { patient: dp.epsilon.patient, hospital: dp.epsilon.hospital } : null,
    delta: view.delta,
    accountant: view.accountant,
  };
}

function evaluationRow(round: number, e: RoundView['evaluations'][number], segmentation: boolean): CardEvaluation {
  const interval = (accuracy: number) => (segmentation ? null : accuracyInterval(accuracy, e.testSamples));
  const tooSmall = e.testSamples < MIN_TEST_SLICES;
  return {
    round,
    hospital: e.hospital,
    testSlices: e.testSamples,
    accuracy: e.accuracy,
    ci95: interval(e.accuracy),
    loss: e.loss,
    deputy: e.deputy ? { accuracy: e.deputy.accuracy, ci95: interval(e.deputy.accuracy), loss: e.deputy.loss } : null,
    tooSmall,
    note: tooSmall
      ? `Only ${e.testSamples} held-out slice${e.testSamples === 1 ? '' : 's'} (fewer than ${MIN_TEST_SLICES}): a rough guide${segmentation ? '' : ', read it with its interval'}.`
      : null,
  };
}

/**
 * A hospital's own copy of the card: the study, its privacy settings and ledger (public settings
 * and released values, the same for everyone), and only this hospital's own counts and results.
 * What other hospitals reported about themselves is theirs to share, not the server's.
 */
export function hospitalCopy(card: PrivacyCard, hospital: string): PrivacyCard {
  return privacyCardSchema.parse({
    ...card,
    copyFor: hospital,
    data: card.data.filter((d) => d.hospital === hospital),
    evaluation: card.evaluation.filter((e) => e.hospital === hospital),
  });
}
