import type { NamedTensor } from '../types';
import { averageLowFrequencyAmplitude } from './avg-freq';
import { gatherMatrix, pfaMatrixView, scatterMatrix, type PfaLayout } from './layout';
import { defaultTensorRole, type TensorRole } from './roles';
import { progressiveThreshold } from './threshold';

/**
 * What the amplitude sum is divided by. `undefined` (default) means K, the number of clients, i.e. a true
 * mean. `'seed'` reproduces server.py L43, which divides by a literal 4 whatever K is; with K ≠ 4 that
 * scales the shared low frequencies by K/4. A number is used as given.
 */
export type PfaDivisor = number | 'seed' | undefined;

const SEED_DIVISOR = 4;

export function resolveDivisor(divisor: PfaDivisor, clientCount: number): number {
  if (divisor === undefined) return clientCount;
  if (divisor === 'seed') return SEED_DIVISOR;
  if (!(Number.isFinite(divisor) && divisor > 0)) throw new RangeError(`divisor must be positive, got ${divisor}`);
  return divisor;
}

/**
 * PFA on one tensor across K clients, given in `layout`: returns each client's transformed values (float32),
 * different per client. This is the seed's `avg_freq` with the layout mapping around it.
 */
export function pfaTransformTensor(
  layout: PfaLayout,
  shape: readonly number[],
  clients: readonly ArrayLike<number>[],
  threshold: number,
  divisor: number,
): Float32Array[] {
  const view = pfaMatrixView(layout, shape);
  const matrices = clients.map((values) => gatherMatrix(values, view));
  return averageLowFrequencyAmplitude(matrices, view.rows, view.cols, threshold, divisor).map((m) =>
    scatterMatrix(m, view),
  );
}

export interface PfaOptions {
  /** Current communication round a, from 0. */
  round: number;
  /** Total rounds (the seed's `iters`). */
  rounds: number;
  /** Shared fraction at round 0 (the seed's `l_rate`, 0.7 in its quickstart). */
  lRate: number;
  divisor?: PfaDivisor;
  /** Defaults to {@link defaultTensorRole}, applied to the first client's tensor. */
  roleOf?: (tensor: NamedTensor) => TensorRole;
}

/**
 * Progressive Fourier Aggregation over the clients' deputy models (spec 2.4). `clients[k]` is client k's
 * weight list in TF.js layout. Returns one weight list per client, in the same order and with the client's
 * own names.
 *
 * Tensors are matched by position, not by name: the same architecture lists its weights in the same order,
 * while TF.js names depend on how many layers a page has created and may differ between hospitals.
 * Shapes must agree.
 */
export function progressiveFourierAggregate(
  clients: readonly (readonly NamedTensor[])[],
  opts: PfaOptions,
): NamedTensor[][] {
  const first = clients[0];
  if (!first) throw new RangeError('progressiveFourierAggregate: no clients');
  for (const [k, list] of clients.entries()) {
    if (list.length !== first.length) {
      throw new RangeError(`client ${k} has ${list.length} tensors, client 0 has ${first.length}`);
    }
  }
  const threshold = progressiveThreshold(opts.lRate, opts.round, opts.rounds);
  const divisor = resolveDivisor(opts.divisor, clients.length);
  const roleOf = opts.roleOf ?? defaultTensorRole;
  const out: NamedTensor[][] = clients.map(() => []);

  first.forEach((reference, i) => {
    const group = clients.map((list, k) => {
      const t = list[i]!;
      if (t.shape.length !== reference.shape.length || t.shape.some((d, j) => d !== reference.shape[j])) {
        throw new RangeError(
          `tensor ${i} (${reference.name}): client ${k} has shape [${t.shape.join(', ')}], ` +
            `client 0 has [${reference.shape.join(', ')}]`,
        );
      }
      const size = t.shape.reduce((a, b) => a * b, 1);
      if (t.values.length !== size) {
        throw new RangeError(`tensor ${i} (${t.name}): client ${k} has ${t.values.length} values for ${size} elements`);
      }
      return t;
    });
    const values = transformGroup(roleOf(reference), reference, group, threshold, divisor);
    group.forEach((t, k) => out[k]!.push({ name: t.name, shape: [...t.shape], values: values[k]! }));
  });
  return out;
}

function transformGroup(
  role: TensorRole,
  reference: NamedTensor,
  group: readonly NamedTensor[],
  threshold: number,
  divisor: number,
): Float32Array[] {
  switch (role) {
    case 'conv':
    case 'dense':
      return pfaTransformTensor(
        role === 'conv' ? 'tfjs-conv' : 'tfjs-dense',
        reference.shape,
        group.map((t) => t.values),
        threshold,
        divisor,
      );
    case 'norm':
      // Local normalisation (FedBN-style): each client keeps its own; copied so outputs never alias inputs.
      return group.map((t) => Float32Array.from(t.values));
    case 'other': {
      // Plain FedAvg with weights 1/K (server.py L122–129), accumulated in float64.
      const mean = new Float64Array(reference.values.length);
      for (const t of group) for (let j = 0; j < mean.length; j++) mean[j] = mean[j]! + t.values[j]!;
      const averaged = Float32Array.from(mean, (v) => v / group.length);
      return group.map(() => Float32Array.from(averaged));
    }
  }
}
