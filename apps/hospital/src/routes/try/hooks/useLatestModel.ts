import { useEffect, useState } from 'react';
import { loadLatestModel, type LatestModel } from '../../../api/latest-model';

export interface LatestModelState {
  /** True until IndexedDB has answered: "no model yet" is not known before. */
  loading: boolean;
  model: LatestModel | null;
  error: string | null;
}

/** The model this hospital used last (kept by the federation worker), read once when the page opens. */
export function useLatestModel(): LatestModelState {
  const [state, setState] = useState<LatestModelState>({ loading: true, model: null, error: null });
  useEffect(() => {
    let live = true;
    loadLatestModel()
      .then((model) => live && setState({ loading: false, model, error: null }))
      .catch((e: Error) => live && setState({ loading: false, model: null, error: `The kept model could not be read from this browser's storage: ${e.message}` }));
    return () => {
      live = false;
    };
  }, []);
  return state;
}
