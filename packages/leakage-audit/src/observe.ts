import type { ModelSpec, NamedTensor } from '@fedward/protocol';
import { clientDpRelease, secureAggregateSum, type ClientDpOptions, type ClientDpRelease, type Defence } from './defences';
import { demoImages } from './demo-images';
import { dpSgdPatientEpsilon, hospitalUpdate, type HospitalTraining } from './hospital';

export interface ObserveSettings {
  /** Demo slices each simulated hospital trains on. */
  images: number;
  localSteps: number;
  learningRate: number;
  /** dp: the release's z, C and δ. */
  dp: ClientDpOptions;
  /** dp-sgd: σ, per-patient C and δ. */
  dpSgd: { noiseMultiplier: number; clip: number; delta: number };
  /** secagg: hospitals in the sum (the target and demo hospitals 1 … n−1 of the same task). */
  hospitals: number;
}

export interface Observed {
  /** What the attacker sees in place of the target hospital's Δ, per tensor. */
  delta: Float32Array[];
  /** ε per patient the defence gives (dp: this one round; dp-sgd: the local steps); null where it is not DP. */
  epsilon: number | null;
  /** dp only: the release, with ‖Δ‖ and σ for the report. */
  release: ClientDpRelease | null;
}

/**
 * What an honest-but-curious server sees of one hospital's local training on (x, labels) from
 * `global` under `defence`: the CLI and the admin's Audit worker both attack this. 'precode' is
 * the model's own defence (spec.kind small-cnn-vb, ε from the hospital's CSPRNG): the update as sent.
 */
export async function observedUpdate(defence: Defence, s: ObserveSettings, spec: ModelSpec, global: NamedTensor[], x: Float32Array, labels: Int32Array): Promise<Observed> {
  const train = (images: Float32Array, imageLabels: Int32Array, dpSgd?: HospitalTraining['dpSgd']) =>
    hospitalUpdate({ spec, global, x: images, labels: imageLabels, localSteps: s.localSteps, learningRate: s.learningRate, ...(dpSgd && { dpSgd }) });
  switch (defence) {
    case 'none':
    case 'precode':
      return { delta: await train(x, labels), epsilon: null, release: null };
    case 'dp': {
      const release = clientDpRelease(await train(x, labels), s.dp);
      return { delta: release.delta, epsilon: release.epsilon, release };
    }
    case 'secagg': {
      const updates = [await train(x, labels)];
      for (let h = 1; h < s.hospitals; h++) {
        const other = demoImages(s.images, spec.inputSize, 1, h);
        updates.push(await train(other.x, other.labels));
      }
      // The pairwise masks cancel in the sum: the plain sum is exactly what secure aggregation reveals.
      return { delta: secureAggregateSum(updates), epsilon: null, release: null };
    }
    case 'dp-sgd':
      return {
        delta: await train(x, labels, { noiseMultiplier: s.dpSgd.noiseMultiplier, clip: s.dpSgd.clip }),
        epsilon: dpSgdPatientEpsilon(s.dpSgd.noiseMultiplier, s.localSteps, s.dpSgd.delta),
        release: null,
      };
  }
}
