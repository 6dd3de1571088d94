import { useEffect, useState } from 'react';
import type { SampleSlice } from '@fedward/data';
import { localStore } from '../../../api/local-data';

/** Imported slices offered to try, a few of every label. */
export const OFFERED_SLICES = 12;

export interface ImportedSlicesState {
  loading: boolean;
  slices: SampleSlice[];
  /** The stored slices' size (they are all one size), when any are stored. */
  size: number | null;
  error: string | null;
}

/** A few of the slices imported into this browser (as stored: windowed, resized, 16-bit), read once. */
export function useImportedSlices(): ImportedSlicesState {
  const [state, setState] = useState<ImportedSlicesState>({ loading: true, slices: [], size: null, error: null });
  useEffect(() => {
    let live = true;
    (async () => {
      const store = await localStore();
      const [summary, slices] = await Promise.all([store.summary(), store.sampleSlices(OFFERED_SLICES)]);
      if (live) setState({ loading: false, slices, size: summary.settings?.size ?? null, error: null });
    })().catch((e: Error) => live && setState({ loading: false, slices: [], size: null, error: `Your imported slices could not be read: ${e.message}` }));
    return () => {
      live = false;
    };
  }, []);
  return state;
}
