import {
  addDiscreteGaussianNoise,
  computeEpsilon,
  cryptoRandomFill,
  decodeMean,
  discreteGaussianParameters,
  discreteGaussianRounds,
  encodeOnGrid,
  gridFor,
  type RandomFill,
} from '@fedward/privacy';

/**
 * Defences the audit knows. 'precode' is a model rather than a release: the hospital trains
 * small-cnn-vb (PRECODE's variational bottleneck, ε from its CSPRNG) and sends its update as it is;
 * the attacker simulates that model with its own stand-in for ε (simulate-vb.ts).
 */
export const DEFENCES = ['none', 'dp', 'secagg', 'dp-sgd', 'precode'] as const;
export type Defence = (typeof DEFENCES)[number];
export const IMPLEMENTED_DEFENCES: readonly Defence[] = ['none', 'dp', 'secagg', 'dp-sgd', 'precode'];

/**
 * What the server sees under secure aggregation: the sum of the hospitals' updates, per tensor.
 * The pairwise masks cancel in the sum, so the unmasked secagg sum IS the plain sum (bit for bit
 * on the integer grid); computing it in the clear measures exactly what that sum leaks.
 */
export function secureAggregateSum(updates: readonly (readonly Float32Array[])[]): Float32Array[] {
  const [first, ...rest] = updates;
  if (!first) throw new RangeError('secure aggregation needs at least one update');
  const sum = first.map((t) => Float32Array.from(t));
  for (const u of rest) {
    if (u.length !== sum.length) throw new RangeError(`updates of ${u.length} and ${sum.length} tensors`);
    u.forEach((t, i) => {
      const s = sum[i]!;
      if (t.length !== s.length) throw new RangeError(`tensor ${i}: ${t.length} and ${s.length} values`);
      for (let k = 0; k < s.length; k++) s[k]! += t[k]!;
    });
  }
  return sum;
}

export interface ClientDpOptions {
  /** Noise multiplier z (the product's default: 1). */
  noiseMultiplier: number;
  /** Clip bound C (the product's default: 1). */
  clip: number;
  /** δ of the per-patient ε (the product's default: 1e-5). */
  delta: number;
  random?: RandomFill;
}

export interface ClientDpRelease {
  /** What the attacker sees: the noised mean of M = 1 clipped update, per tensor. */
  delta: Float32Array[];
  /** ‖Δ‖ before clipping. */
  norm: number;
  /** Std of the noise on each coordinate of the release, in model units. */
  sigma: number;
  /** ε per patient of this one round at δ (RDP accountant of the discrete Gaussian, as the server's ledger). */
  epsilon: number;
}

/**
 * Client-level DP as the server applies it to a round with ONE update (M = 1): Δ clipped to C and
 * truncated onto the integer grid (gridFor(C, d)), discrete Gaussian noise of std z·bound added
 * on the grid, decoded back to model units. The per-patient ε is what the server's ledger books
 * for the round (server/src/privacy-budget.ts): a discrete Gaussian with multiplier σ/(2·bound),
 * since replacing one patient's sub-client update moves the sum by up to 2·bound.
 */
export function clientDpRelease(delta: readonly Float32Array[], o: ClientDpOptions): ClientDpRelease {
  let squares = 0;
  for (const d of delta) for (let k = 0; k < d.length; k++) squares += d[k]! * d[k]!;
  const norm = Math.sqrt(squares);
  const dimension = delta.reduce((n, d) => n + d.length, 0);
  const grid = gridFor(o.clip, dimension);
  const encoded = encodeOnGrid(delta, norm, grid);
  for (const e of encoded) addDiscreteGaussianNoise(e, o.noiseMultiplier * grid.bound, o.random ?? cryptoRandomFill);
  const released = decodeMean(encoded, grid, 1).map((a) => Float32Array.from(a));
  const integerSigma = discreteGaussianParameters(o.noiseMultiplier * grid.bound).sigma;
  const epsilon = computeEpsilon(discreteGaussianRounds({ noiseMultiplier: integerSigma / (2 * grid.bound) }), o.delta).epsilon;
  return { delta: released, norm, sigma: integerSigma / grid.scale, epsilon };
}
