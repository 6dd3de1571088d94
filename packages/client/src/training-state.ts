import type { Dataset } from '@fedward/models';

/**
 * A hospital's training data that can be cut along patients, so sub-clients (intermediaries)
 * never share a patient. The browser builds it on IndexedDB, Node tests on memory.
 */
export interface PatientDataset extends Dataset {
  /** Slice count per (salted) patient hash. */
  readonly patients: Readonly<Record<string, number>>;
  /** The slices of these patients only. */
  subset(patients: readonly string[]): Dataset;
}

export function isPatientDataset(d: Dataset): d is PatientDataset {
  return 'patients' in d && typeof (d as PatientDataset).subset === 'function';
}

/**
 * Each sub-client's optimizer state, kept between rounds (Adam's moments are part of local
 * training in the seed: one optimizer per sub-client, never reset). `states[j]` belongs to
 * sub-client j of a split into `states.length` sub-clients.
 */
export interface SubClientStates {
  federationId: string;
  states: (Uint8Array | null)[];
  /**
   * Which patient → sub-client assignment `states` belong to (`splitFingerprint` of its key).
   * States are reused only under the same one (and the same VN); absent in states kept before
   * the keyed split, which are then not reused.
   */
  split?: string;
  /** PRR-FL: the personalized model (encoded weights), which never leaves the hospital. */
  personal?: Uint8Array | null;
  /**
   * PRR-FL: the deputy as this hospital last trained it. Kept for the record (and the page's
   * reload); each round still starts from the server's PFA result for this hospital.
   */
  deputy?: Uint8Array | null;
  /**
   * DP-SGD: every local step this hospital has taken in this federation, per sampling probability
   * (the local accountant's input). Saved before an update leaves, so a reload cannot reset it.
   */
  dpSgd?: { samplingProbability: number; steps: number }[];
}

/** Where those states (and PRR-FL's personalized model) live: IndexedDB in the hospital app, memory by default. */
export interface TrainingStateStore {
  load(): Promise<SubClientStates | null>;
  save(states: SubClientStates): Promise<void>;
}

export function memoryTrainingStateStore(): TrainingStateStore {
  let kept: SubClientStates | null = null;
  return {
    load: () => Promise.resolve(kept),
    save: (s) => {
      kept = s;
      return Promise.resolve();
    },
  };
}
