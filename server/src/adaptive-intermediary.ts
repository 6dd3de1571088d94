/**
 * The adaptive intermediary rule (Jiang et al., MICCAI 2023; seed spec §1.5,
 * `private_trainer.select_split_num`): re-choose how many sub-clients (VN) each hospital splits
 * into by comparing the noise with the signal.
 *
 *   λ = noiseNorm / normSum          (noise-to-signal, the "intermediary ratio")
 *   v = √(N·λ)                       N = number of HOSPITALS (not sub-clients)
 *   default:     VN ← ⌊VN·v⌋
 *   ada_stable:  VN ← ⌊v⌋·VN                    (only when v ≥ 1; otherwise VN stays)
 *   ada_prog:    VN ← ⌊(v·VN − VN)/2⌋ + VN      (only when v ≥ 1; otherwise VN stays)
 *
 * The seed feeds it the drawn noise's norm and the raw update norms, which are statistics of the
 * private updates; Fedward's round engine feeds it only released values: the noise's public
 * expected norm σ√d and a noised Σ min(‖Δ_j‖, C) with its own ledger entry. λ = 1/N is the fixed
 * point (v = 1). The seed can return 0 when VN·v < 1 and then divides by zero when it re-splits;
 * here VN is clamped to ≥ 1 and the decision says it was.
 */
export type VnRule = 'default' | 'ada_stable' | 'ada_prog';

export interface VnDecision {
  lambda: number;
  v: number;
  /** VN for the next round (≥ 1). */
  next: number;
  /** True when the rule's raw answer was below 1 and was raised to 1. */
  clamped: boolean;
  rule: VnRule;
}

export function chooseVirtualClients(input: {
  noiseNorm: number;
  normSum: number;
  hospitals: number;
  current: number;
  rule?: VnRule;
}): VnDecision {
  const { noiseNorm, normSum, hospitals, current, rule = 'default' } = input;
  if (!(normSum > 0)) throw new Error('the sum of update norms must be positive to compare noise with signal');
  if (!(noiseNorm >= 0)) throw new Error('the noise norm must be ≥ 0');
  if (!Number.isInteger(hospitals) || hospitals < 1) throw new Error('the number of hospitals must be a positive integer');
  if (!Number.isInteger(current) || current < 1) throw new Error('the current VN must be a positive integer');
  const lambda = noiseNorm / normSum;
  const v = Math.sqrt(hospitals * lambda);
  let raw: number;
  switch (rule) {
    case 'default':
      raw = Math.floor(current * v);
      break;
    case 'ada_stable':
      raw = v >= 1 ? Math.floor(v) * current : current;
      break;
    case 'ada_prog':
      raw = v >= 1 ? Math.floor((v * current - current) / 2) + current : current;
      break;
  }
  return { lambda, v, next: Math.max(1, raw), clamped: raw < 1, rule };
}
