import type { SubClientStates, TrainingStateStore } from '@fedward/client';

const DB_NAME = 'fedward-training';
const STORE = 'sub-client-states';

function open(): Promise<IDBDatabase> {
  return new Promise((resolve, reject) => {
    const req = indexedDB.open(DB_NAME, 1);
    req.onupgradeneeded = () => req.result.createObjectStore(STORE);
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => reject(new Error(`could not open IndexedDB "${DB_NAME}": ${req.error?.message ?? 'unknown error'}`));
  });
}

function run<T>(db: IDBDatabase, mode: IDBTransactionMode, body: (s: IDBObjectStore) => IDBRequest<T>): Promise<T> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(STORE, mode);
    const req = body(tx.objectStore(STORE));
    // Resolve on commit, not on the request, so a save has reached disk before training goes on.
    tx.oncomplete = () => resolve(req.result);
    tx.onerror = () => reject(new Error(`IndexedDB "${DB_NAME}": ${tx.error?.message ?? 'transaction failed'}`));
  });
}

/**
 * Each sub-client's optimizer state (Adam's moments), kept in IndexedDB under the enrolment's
 * federation, so a reload or a crash resumes local training where it was instead of resetting it.
 */
export function indexedDbTrainingState(key: string): TrainingStateStore {
  let db: Promise<IDBDatabase> | null = null;
  const handle = () => (db ??= open());
  return {
    async load() {
      const value = await run(await handle(), 'readonly', (s) => s.get(key) as IDBRequest<SubClientStates | undefined>);
      return value ?? null;
    },
    async save(states) {
      await run(await handle(), 'readwrite', (s) => s.put(states, key));
    },
  };
}
