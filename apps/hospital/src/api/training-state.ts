import type { SubClientStates, TrainingStateStore } from '@fedward/client';
import { keyValueStore } from './indexed-db';

/**
 * Each sub-client's optimizer state (Adam's moments), kept in IndexedDB under the enrolment's
 * federation, so a reload or a crash resumes local training where it was instead of resetting it.
 */
export function indexedDbTrainingState(key: string): TrainingStateStore {
  const states = keyValueStore<SubClientStates>('fedward-training', 'sub-client-states');
  return {
    async load() {
      return (await states.get(key)) ?? null;
    },
    async save(value) {
      await states.put(key, value);
    },
  };
}
