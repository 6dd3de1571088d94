/**
 * Fedward's server-side aggregation library: DP aggregation with three clip rules (fixed, the
 * seed's median, Andrew et al.'s private quantile) and three server strategies (FedAvg, FedAdam,
 * FedNova), their non-DP twins, and the server state that carries across rounds and restarts.
 * See `createDpAggregator` / `createPlainAggregator`.
 */
export * from './types';
export * from './aggregator';
export * from './clip-rules';
export * from './strategies';
export * from './server-state';
