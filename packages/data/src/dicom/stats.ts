/** Summary numbers of decoded values, as printed by inspect-dicom. */
export interface ValueStats {
  min: number;
  max: number;
  mean: number;
}

export function valueStats(values: ArrayLike<number>): ValueStats {
  let min = Infinity;
  let max = -Infinity;
  let sum = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? 0;
    if (v < min) min = v;
    if (v > max) max = v;
    sum += v;
  }
  return values.length === 0 ? { min: NaN, max: NaN, mean: NaN } : { min, max, mean: sum / values.length };
}
