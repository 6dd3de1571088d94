/**
 * Robust aggregation for federations without DP: without a clip, one hospital's claimed sample
 * count or one update with huge (finite) values would otherwise set the global model. Each rule
 * gives every update one vote and bounds what one update can do:
 * - norm-bound: each change is scaled down to L2 norm ≤ B, then averaged (one update moves the
 *   mean by at most B/M);
 * - median: the coordinate-wise median of the changes (one update of M ≥ 3 cannot move it past
 *   the honest ones);
 * - trimmed-mean: per coordinate, the ⌈trim·M⌉ largest and smallest changes are dropped and the
 *   rest averaged (at least one each side once M ≥ 3).
 */
export type RobustRule = { rule: 'norm-bound'; normBound: number } | { rule: 'median' } | { rule: 'trimmed-mean'; trim: number };

/** Scales `delta` in place to L2 norm ≤ bound. */
export function boundNorm(delta: Float64Array[], bound: number): void {
  let sq = 0;
  for (const t of delta) for (let k = 0; k < t.length; k++) sq += t[k]! * t[k]!;
  const norm = Math.sqrt(sq);
  if (norm <= bound) return;
  const f = bound / norm;
  for (const t of delta) for (let k = 0; k < t.length; k++) t[k]! *= f;
}

/** How many changes are dropped at each end of a coordinate's sorted list. */
export function trimCount(updates: number, trim: number): number {
  if (updates < 3) return 0;
  return Math.min(Math.floor((updates - 1) / 2), Math.max(1, Math.ceil(trim * updates)));
}

/** Combines the buffered per-update changes (tensor by tensor) into one change, coordinate by coordinate. */
export function combineCoordinates(deltas: Float64Array[][], rule: 'median' | 'trimmed-mean', trim = 0): Float64Array[] {
  const m = deltas.length;
  if (m === 0) throw new Error('no update to combine');
  const column = new Float64Array(m);
  const cut = rule === 'trimmed-mean' ? trimCount(m, trim) : 0;
  return deltas[0]!.map((first, i) => {
    const out = new Float64Array(first.length);
    for (let k = 0; k < first.length; k++) {
      for (let j = 0; j < m; j++) column[j] = deltas[j]![i]![k]!;
      column.sort();
      if (rule === 'median') out[k] = m % 2 ? column[(m - 1) / 2]! : (column[m / 2 - 1]! + column[m / 2]!) / 2;
      else {
        let s = 0;
        for (let j = cut; j < m - cut; j++) s += column[j]!;
        out[k] = s / (m - 2 * cut);
      }
    }
    return out;
  });
}
