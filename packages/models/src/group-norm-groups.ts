/**
 * GroupNorm's grouping rule, without TF.js, shared by the layer (norm.ts) and the ONNX export
 * (export-onnx.ts) so both split the channels alike.
 */

/** Class name the GroupNorm layer is registered under (norm.ts's GroupNorm.className). */
export const GROUP_NORM_CLASS = 'FedwardGroupNorm';
export const GROUP_NORM_EPSILON = 1e-5;
/** The most groups a GroupNorm layer uses (see groupNormGroups). */
export const GROUP_NORM_MAX_GROUPS = 8;

/**
 * Groups of a GroupNorm over `channels` channels: the largest divisor of `channels` that is at
 * most `maxGroups` (8 → 24 channels: 8 groups of 3; 36: 6 of 6; 13: 1 of 13). Rank-2 inputs (a
 * dense layer's features) use 1 group: LayerNorm over the features.
 */
export function groupNormGroups(channels: number, maxGroups = GROUP_NORM_MAX_GROUPS): number {
  for (let g = Math.min(maxGroups, channels); g > 1; g--) if (channels % g === 0) return g;
  return 1;
}
