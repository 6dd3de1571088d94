import type { FederationConfig, PrivacyView } from '@fedward/protocol';

/**
 * What leaves the server, as plain sentences for the card. Written from the study's settings
 * only (the server's README, "Threat model and what each party sees", is the long form): the
 * sentences must stay true for every run of these settings, so none of them depends on data.
 */
export function releasePolicy(config: FederationConfig, privacy: PrivacyView | null): string[] {
  const sentences = [
    'Patients’ slices never leave their hospital: each hospital trains the model in its own browser and sends the server only model updates (changes to the model’s weights).',
  ];
  const personalization = config.personalization?.strategy ?? 'fedavg';
  if (privacy) {
    const released = ['the noised sum of the updates, from which each round’s new model is computed'];
    if (privacy.clipRule === 'quantile') released.push('a noised count of the updates within the size limit, which sets the next round’s limit');
    if (privacy.virtualClients.mode === 'adaptive') released.push('a noised sum of the updates’ sizes, which sets the next round’s number of updates per hospital');
    sentences.push(
      'Each update is limited in size (its L2 norm is scaled down to at most C) and put on an integer grid; the server adds the updates up exactly and adds random noise (discrete Gaussian, standard deviation z·C) before anything is released.',
      `What leaves the server: ${released.join('; ')}; and public settings (C, z, δ, the number of updates, the updates per hospital per round, the aggregation strategy) with the ε they cost. Apart from the hospitals’ own reports below, only noised values and public settings leave it.`,
    );
    if (!privacy.private || privacy.clipRule === 'median') {
      sentences.push(
        'Exception: under the median clip rule, C is the median of the round’s update sizes, computed without noise and released. No privacy guarantee holds: ε is infinite.',
      );
    }
  } else {
    sentences.push(
      'This study runs without differential privacy: the server combines the updates and releases the result without noise, so the released models carry no formal privacy guarantee.',
    );
    if (personalization === 'fedbn') {
      sentences.push('FedBN: every layer is averaged except the normalisation layers; each hospital gets back its own model, with its own normalisation layers.');
    } else if (personalization === 'prr-fl') {
      sentences.push(
        'PRR-FL: each hospital’s personalised model never leaves it; only a second, “deputy” model is sent, combined with the other hospitals’ deputies (Progressive Fourier Aggregation) and returned to each hospital as its own.',
      );
    }
  }
  sentences.push(
    'The server process sees each hospital’s updates in memory during one round (there is no secure aggregation yet); it never writes them to disk or to its log.',
    'Not covered by ε: what each hospital reports about itself (its numbers of training and held-out slices, whether its slices carry patient ids, its training loss, its held-out accuracy and loss, its browser’s compute backend) is shown to the study’s administrator as reported, without noise.',
  );
  return sentences;
}
