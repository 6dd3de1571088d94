/**
 * A key → value object store in an IndexedDB database of its own, opened on first use. Each
 * call is one transaction and resolves when it has committed, so what was saved survives a
 * reload or a crash right after.
 */
export interface KeyValueStore<V> {
  get(key: string): Promise<V | undefined>;
  put(key: string, value: V): Promise<void>;
  /** Reads, changes and writes one value in a single transaction (no other write in between). */
  update(key: string, change: (current: V | undefined) => V): Promise<V>;
}

export function keyValueStore<V>(dbName: string, storeName: string): KeyValueStore<V> {
  let db: Promise<IDBDatabase> | null = null;
  const open = (): Promise<IDBDatabase> =>
    (db ??= new Promise((resolve, reject) => {
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(storeName);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(new Error(`could not open IndexedDB "${dbName}": ${req.error?.message ?? 'unknown error'}`));
    }));

  async function transact<T>(mode: IDBTransactionMode, body: (store: IDBObjectStore, done: (value: T) => void) => void): Promise<T> {
    const database = await open();
    return new Promise((resolve, reject) => {
      const tx = database.transaction(storeName, mode);
      let result: T;
      body(tx.objectStore(storeName), (value) => (result = value));
      // Resolve on commit, not on the request, so the value has reached disk.
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(new Error(`IndexedDB "${dbName}": ${tx.error?.message ?? 'transaction failed'}`));
      tx.onabort = () => reject(new Error(`IndexedDB "${dbName}": ${tx.error?.message ?? 'transaction aborted'}`));
    });
  }

  return {
    get: (key) =>
      transact<V | undefined>('readonly', (store, done) => {
        const req = store.get(key);
        req.onsuccess = () => done(req.result as V | undefined);
      }),
    put: (key, value) => transact<void>('readwrite', (store) => void store.put(value, key)),
    update: (key, change) =>
      transact<V>('readwrite', (store, done) => {
        const req = store.get(key);
        req.onsuccess = () => {
          const next = change(req.result as V | undefined);
          store.put(next, key);
          done(next);
        };
      }),
  };
}
