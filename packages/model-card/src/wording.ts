import type { PrivacyCard } from './schema';

/*
 * Plain words for every setting the card shows, for clinicians and data-protection officers:
 * each term the page uses is named here once, so the HTML and any other rendering say the same.
 */

type Study = PrivacyCard['study'];
type Privacy = NonNullable<PrivacyCard['privacy']>;

export const MODEL_WORDS: Record<Study['task']['model'], string> = {
  'small-cnn': 'small convolutional network (classifier)',
  densenet: 'DenseNet, shrunk (classifier)',
  'vgg-slim': 'VGG, slimmed (classifier)',
  unet: 'U-Net, shrunk (segmentation: marks a region in each slice)',
  'small-cnn-vb': 'small convolutional network with a variational bottleneck (PRECODE: makes the updates harder to invert into images; classifier)',
};

export const NORMALIZATION_WORDS: Record<Study['task']['normalization'], string> = {
  unit: 'pixel values windowed to the range 0–1',
  zscore: 'pixel values windowed to 0–1, then each slice scaled to mean 0 and standard deviation 1',
};

export const AGGREGATION_WORDS: Record<Study['strategy']['aggregation'], string> = {
  fedavg: 'FedAvg: the updates are averaged',
  fedadam: 'FedAdam: the averaged update is applied by an Adam step on the server',
  fednova: 'FedNova: the averaged update is scaled by a public number of local training steps',
};

export const PERSONALIZATION_WORDS: Record<Study['strategy']['personalization'], string> = {
  fedavg: 'none: every hospital gets the same model',
  fedbn: 'FedBN: each hospital keeps its own normalisation layers',
  'prr-fl': 'PRR-FL: each hospital keeps a personalised model and exchanges a second, “deputy” model',
};

export const OPTIMIZER_WORDS: Record<Study['training']['optimizer'], string> = {
  adam: 'Adam',
  amsgrad: 'Adam (AMSGrad variant)',
  sgd: 'plain gradient descent (SGD)',
};

export const PATIENT_ID_WORDS: Record<'all' | 'some' | 'none', string> = {
  all: 'on every slice',
  some: 'on some slices (each slice without one counts as its own patient)',
  none: 'none (each slice counts as its own patient)',
};

export const CLIP_RULE_WORDS: Record<Privacy['clipRule'], string> = {
  fixed: 'fixed',
  quantile: 'adjusted each round from a noised count',
  median: 'the median of the round’s update sizes, computed without noise: NOT private',
};

export const SUB_CLIENT_WORDS: Record<Privacy['subClients']['mode'], string> = {
  fixed: 'fixed by the study’s administrator',
  heuristic: 'computed from public settings only',
  adaptive: 'adjusted each round from a noised measurement',
};

export const RELEASE_WORDS: Record<Privacy['ledger'][number]['released'][number], string> = {
  sum: 'model update (noised sum)',
  count: 'noised count (sets the size limit)',
  'norm-sum': 'noised sum of update sizes (sets the updates per hospital)',
};

export const ACCOUNTANT_WORDS: Record<Privacy['accountant'], string> = {
  rdp: 'Rényi differential privacy (RDP): the standard way of adding up the privacy cost of many rounds',
  gdp: 'Gaussian differential privacy (GDP)',
};

/** The terms of the privacy section, each with what it means in practice. */
export const TERMS: { term: string; meaning: string }[] = [
  {
    term: 'ε per patient',
    meaning:
      'How much all the slices of one patient at one hospital can change what is released. Smaller is more private; 0 would mean no change at all. Where a hospital’s slices carry no patient id, each slice counts as its own patient.',
  },
  { term: 'ε per hospital', meaning: 'How much everything one hospital holds can change what is released.' },
  { term: 'δ', meaning: 'The small chance that the ε bound does not hold.' },
  { term: 'Budget (target ε)', meaning: 'The most ε the study may spend; no round starts that would go past it.' },
  {
    term: 'Size limit C',
    meaning: 'The largest change one update may make to the model (its L2 norm: the square root of the sum of all squared changes). Larger updates are scaled down to C.',
  },
  { term: 'Noise multiplier z', meaning: 'How much random noise is added, relative to C: the noise on the sum has standard deviation z·C. Larger z is more private and less accurate.' },
  {
    term: 'Updates per hospital per round (sub-clients)',
    meaning: 'Each hospital splits its patients into this many groups and sends one update per group; one patient’s slices are always in one group.',
  },
  { term: 'Updates summed', meaning: 'All updates added up in a round: the number of hospitals times the updates per hospital.' },
];

export function formatEpsilon(epsilon: number | null | undefined): string {
  return epsilon === null || epsilon === undefined || !Number.isFinite(epsilon) ? '∞' : epsilon.toFixed(3);
}

/** δ as JavaScript writes it (0.00001, 1e-7) and as odds (1 in 100,000). */
export function formatDelta(delta: number): string {
  return `${delta} (1 in ${Math.round(1 / delta).toLocaleString('en-US')})`;
}

/** A setting as typed: at most 4 significant digits, no trailing zeros. */
export function formatSetting(x: number): string {
  return String(Number(x.toPrecision(4)));
}

export function formatPercent(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}
