import type { ModelSpec } from '@fedward/protocol';
import { keyValueStore } from './indexed-db';

/**
 * The last model this hospital used, kept in IndexedDB so that "Try the model" works after a
 * reload, after the federation has ended, and with the server gone: the global model of the last
 * round this hospital evaluated (under FedBN its own, with its normalisation layers; under PRR-FL
 * its personalized model, which never leaves the hospital).
 */
export interface LatestModel {
  /** The study's id, and its name for the page. */
  study: string;
  studyName: string;
  /** The round after which this hospital received (or, under PRR-FL, trained) it; 0 is the initial model. */
  round: number;
  spec: ModelSpec;
  /** Label of each output, in output order: the sorted labels of the slices this hospital trained on. */
  classes: string[];
  /** The study's batch size: evaluation predicts in batches of it, and so does "Try the model". */
  batchSize: number;
  /** PRR-FL: the hospital's personalized model rather than the shared one. */
  personalized: boolean;
  /** Its accuracy on this hospital's held-out slices, as reported to the server. */
  accuracy: number;
  /** The weights in the wire encoding (@fedward/protocol encodeWeights). */
  weights: Uint8Array;
  receivedAt: number;
}

const models = keyValueStore<LatestModel>('fedward-models', 'latest-model');
/** One record: the page offers the model this hospital used last, whatever the study. */
const KEY = 'latest';

export const saveLatestModel = (model: LatestModel): Promise<void> => models.put(KEY, model);

export const loadLatestModel = async (): Promise<LatestModel | null> => (await models.get(KEY)) ?? null;
