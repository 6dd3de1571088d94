import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';
import type { FederationConfig, PrivacyConfig } from './config';
import { evaluationSchema, helloSchema, hospitalStatusSchema, updateBeginSchema, updateChunkSchema, updateEndSchema } from './messages';
import { secaggKeysSchema, secaggRevealSchema, secaggSharesSchema } from './secagg-messages';

/**
 * What a study will do on a hospital's data, as the hospital reviews it before joining: the task,
 * the local training, and every message the hospital will send with its fields and size. Made by
 * the server from the study's settings; its digest goes with the hospital's hello, so a study
 * whose settings changed since the hospital accepted them is not joined until it accepts again.
 */
export interface StudyPlan {
  version: 1;
  study: { id: string; name: string };
  task: {
    model: FederationConfig['model']['kind'];
    inputSize: number;
    channels: number;
    classes: number;
    normalization: 'unit' | 'zscore';
    /**
     * 'group' when the model's norm layers are GroupNorm (per-slice statistics, as DP-SGD needs);
     * absent for the default norms (and for small-cnn, which has none), so older plans keep their digest.
     */
    norm?: 'group';
  };
  training: { epochs: number; batchSize: number; learningRate: number; optimizer: 'adam' | 'amsgrad' | 'sgd' };
  rounds: number;
  strategy: { aggregation: 'fedavg' | 'fedadam' | 'fednova'; personalization: 'fedavg' | 'fedbn' | 'prr-fl' };
  /** Bytes of one model update (the weights, binary). */
  updateBytes: number;
  /** Updates this hospital sends each round: a fixed number, or chosen by the server each round (heuristic / adaptive). */
  updatesPerRound: number | 'chosen each round';
  /** Every message the hospital sends, when, and its fields (taken from the schemas the server checks). */
  sends: { message: string; when: string; fields: string[] }[];
  /** The privacy settings (public, frozen once a round has run); null: no differential privacy. */
  privacy: Pick<PrivacyConfig, 'unit' | 'targetEpsilon' | 'delta' | 'noiseMultiplier' | 'clipNorm'> & { clipRule: 'fixed' | 'median' | 'quantile'; subClients: string } | null;
  /**
   * Secure aggregation (absent when off): the hospital clips and encodes its own updates and sends
   * only their masked sum; `threshold` hospitals are needed to unmask the total.
   */
  secureAggregation?: { threshold: number };
  /**
   * DP-SGD inside the hospital (absent when off): the local noise, clip, this hospital's own budget,
   * the sampler (which also names the accountant: `DP_SGD_ACCOUNTANT_LABELS`), and `reduction`
   * 'mean' where deepee's mean-reduction scaling is used (absent: the textbook 'sum').
   */
  dpSgd?: { noiseMultiplier: number; clip: number; targetEpsilon: number; delta: number; sampling: 'poisson' | 'uniform'; reduction?: 'mean' };
}

const fieldsOf = (schema: { shape: Record<string, unknown> }): string[] => Object.keys(schema.shape);

/** The study plan of a federation whose model update is `updateBytes` long. */
export function studyPlan(config: FederationConfig, updateBytes: number): StudyPlan {
  const p = config.privacy;
  const vn = p?.virtualClients;
  return {
    version: 1,
    study: { id: config.id, name: config.name },
    task: {
      model: config.model.kind,
      inputSize: config.model.inputSize,
      channels: config.model.channels,
      classes: config.model.numClasses,
      normalization: config.model.normalization ?? 'zscore',
      ...(config.model.norm === 'group' && config.model.kind !== 'small-cnn' && config.model.kind !== 'small-cnn-vb' && { norm: 'group' as const }),
    },
    training: {
      epochs: config.training.epochs,
      batchSize: config.training.batchSize,
      learningRate: config.training.learningRate,
      optimizer: config.training.optimizer ?? 'amsgrad',
    },
    rounds: config.rounds,
    strategy: { aggregation: config.aggregation?.strategy ?? 'fedavg', personalization: config.personalization?.strategy ?? 'fedavg' },
    updateBytes,
    updatesPerRound: !p ? 1 : typeof vn === 'number' ? vn : 'chosen each round',
    sends: config.secureAggregation
      ? [
          { message: 'hello', when: 'once per connection', fields: fieldsOf(helloSchema) },
          { message: 'secagg-keys', when: 'after training, each round: two fresh public keys', fields: fieldsOf(secaggKeysSchema) },
          { message: 'secagg-shares', when: 'each round: shares of your two round secrets, each encrypted for the hospital that keeps it', fields: fieldsOf(secaggSharesSchema) },
          { message: 'update-begin', when: 'before the masked sum of your updates (one per round)', fields: fieldsOf(updateBeginSchema) },
          { message: 'update-chunk', when: `the masked sum (not readable alone) in pieces of at most ${config.chunkBytes} bytes`, fields: fieldsOf(updateChunkSchema) },
          { message: 'update-end', when: 'after the masked sum', fields: fieldsOf(updateEndSchema) },
          { message: 'secagg-reveal', when: 'each round: the shares that remove the masks, so only the total of all hospitals can be read', fields: fieldsOf(secaggRevealSchema) },
          { message: 'evaluation', when: 'after each round, on your held-out slices', fields: fieldsOf(evaluationSchema) },
          { message: 'status', when: 'while training and uploading', fields: fieldsOf(hospitalStatusSchema) },
        ]
      : [
          { message: 'hello', when: 'once per connection', fields: fieldsOf(helloSchema) },
          { message: 'update-begin', when: 'before each model update', fields: fieldsOf(updateBeginSchema) },
          { message: 'update-chunk', when: `the model update in pieces of at most ${config.chunkBytes} bytes`, fields: fieldsOf(updateChunkSchema) },
          { message: 'update-end', when: 'after each model update', fields: fieldsOf(updateEndSchema) },
          { message: 'evaluation', when: 'after each round, on your held-out slices', fields: fieldsOf(evaluationSchema) },
          { message: 'status', when: 'while training and uploading', fields: fieldsOf(hospitalStatusSchema) },
        ],
    ...(config.secureAggregation && { secureAggregation: { threshold: config.secureAggregation.threshold } }),
    ...(config.dpSgd && {
      dpSgd: {
        noiseMultiplier: config.dpSgd.noiseMultiplier,
        clip: config.dpSgd.clip,
        targetEpsilon: config.dpSgd.targetEpsilon,
        delta: config.dpSgd.delta,
        sampling: config.dpSgd.sampling,
        ...(config.dpSgd.reduction === 'mean' && { reduction: 'mean' as const }),
      },
    }),
    privacy: p
      ? {
          unit: p.unit,
          targetEpsilon: p.targetEpsilon,
          delta: p.delta,
          noiseMultiplier: p.noiseMultiplier,
          clipNorm: p.clipNorm,
          clipRule: p.clipRule ?? 'fixed',
          subClients: typeof vn === 'number' ? String(vn) : (vn ?? 'heuristic'),
        }
      : null,
  };
}

/** JSON with object keys sorted at every level: the same plan always gives the same bytes. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/** SHA-256 (hex) of the plan's canonical JSON. */
export function planDigest(plan: StudyPlan): string {
  return bytesToHex(sha256(utf8ToBytes(canonicalJson(plan))));
}
