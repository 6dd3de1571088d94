import { afterEach } from 'vitest';
import { deleteSliceStore, openSliceStore, type SliceStore } from '../src/index';

/**
 * Uniquely named slice stores for a test file: `fresh()` opens a new one, `reopen(name)` opens one
 * again (a page reload); each is closed and deleted after its test.
 */
export function sliceStores(prefix: string): { fresh: () => Promise<SliceStore>; reopen: (name: string) => Promise<SliceStore> } {
  let counter = 0;
  const opened: SliceStore[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) {
      s.close();
      await deleteSliceStore(s.name);
    }
  });
  const open = async (name: string) => {
    const store = await openSliceStore(name);
    opened.push(store);
    return store;
  };
  return { fresh: () => open(`${prefix}-${counter++}`), reopen: open };
}
