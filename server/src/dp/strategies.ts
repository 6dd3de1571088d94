import type { NamedTensor } from '@fedward/protocol';
import type { ServerState, Strategy, StrategyOption } from './types';

/** η_s when a caller names 'fedadam' without a rate: the seed's ICH value. */
export const DEFAULT_SERVER_LEARNING_RATE = 0.003;
export const FEDADAM_BETA1 = 0.9;
export const FEDADAM_BETA2 = 0.99;
export const FEDADAM_EPSILON = 1e-9;

export function resolveStrategy(option: StrategyOption | undefined): Strategy {
  const s: Strategy =
    option === undefined ? { kind: 'fedavg' } : typeof option === 'string' ? (option === 'fedadam' ? { kind: 'fedadam', learningRate: DEFAULT_SERVER_LEARNING_RATE } : { kind: option }) : option;
  if (s.kind !== 'fedavg' && s.kind !== 'fedadam' && s.kind !== 'fednova') throw new Error(`unknown server strategy ${(s as { kind: unknown }).kind}`);
  if (s.kind === 'fedadam' && !(s.learningRate > 0 && Number.isFinite(s.learningRate))) {
    throw new Error(`FedAdam needs a positive server learning rate (got ${s.learningRate})`);
  }
  return s;
}

export function emptyServerState(): ServerState {
  return { rounds: 0, clip: null, adam: null };
}

/** Throws unless the state's Adam moments match the model tensor by tensor. */
export function checkServerState(state: ServerState, global: readonly NamedTensor[]): void {
  if (!Number.isInteger(state.rounds) || state.rounds < 0) throw new Error(`server state: rounds must be an integer ≥ 0 (got ${state.rounds})`);
  if (state.clip !== null && !(state.clip > 0 && Number.isFinite(state.clip))) throw new Error(`server state: the clip must be positive (got ${state.clip})`);
  if (!state.adam) return;
  for (const [which, list] of [
    ['m', state.adam.m],
    ['v', state.adam.v],
  ] as const) {
    if (list.length !== global.length) throw new Error(`server state: Adam ${which} has ${list.length} tensors, the model ${global.length}`);
    list.forEach((t, i) => {
      const g = global[i]!;
      if (t.name !== g.name || t.values.length !== g.values.length) {
        throw new Error(`server state: Adam ${which}[${i}] is "${t.name}" (${t.values.length} values), the model has "${g.name}" (${g.values.length})`);
      }
    });
  }
}

/**
 * The server's step from the released average A (float64, one array per tensor) to the next
 * global model. Returns the new weights and the strategy's part of the next state; the inputs are
 * not modified.
 */
export function applyStrategy(
  strategy: Strategy,
  global: readonly NamedTensor[],
  average: readonly Float64Array[],
  state: ServerState,
): { weights: NamedTensor[]; adam: ServerState['adam'] } {
  if (strategy.kind !== 'fedadam') {
    const weights = global.map((t, i) => {
      const a = average[i]!;
      const g = t.values;
      const values = new Float32Array(a.length);
      for (let k = 0; k < a.length; k++) values[k] = g[k]! + a[k]!;
      return { name: t.name, shape: [...t.shape], values };
    });
    return { weights, adam: state.adam };
  }
  const b1 = strategy.beta1 ?? FEDADAM_BETA1;
  const b2 = strategy.beta2 ?? FEDADAM_BETA2;
  const eps = strategy.epsilon ?? FEDADAM_EPSILON;
  const eta = strategy.learningRate;
  const m: NamedTensor[] = [];
  const v: NamedTensor[] = [];
  const weights = global.map((t, i) => {
    const a = average[i]!;
    const mOld = state.adam?.m[i]?.values;
    const vOld = state.adam?.v[i]?.values;
    const mNew = new Float32Array(a.length);
    const vNew = new Float32Array(a.length);
    const values = new Float32Array(a.length);
    for (let k = 0; k < a.length; k++) {
      const ak = a[k]!;
      mNew[k] = b1 * (mOld ? mOld[k]! : 0) + (1 - b1) * ak;
      vNew[k] = b2 * (vOld ? vOld[k]! : 0) + (1 - b2) * ak * ak;
      // From the stored (float32) moments, so a restarted server takes exactly the same steps.
      values[k] = t.values[k]! + (eta * mNew[k]!) / (Math.sqrt(vNew[k]!) + eps);
    }
    m.push({ name: t.name, shape: [...t.shape], values: mNew });
    v.push({ name: t.name, shape: [...t.shape], values: vNew });
    return { name: t.name, shape: [...t.shape], values };
  });
  return { weights, adam: { m, v } };
}
