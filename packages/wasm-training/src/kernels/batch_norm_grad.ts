import { add, FusedBatchNorm, mul, reshape, rsqrt, scalar } from '@tensorflow/tfjs';
import type { FusedBatchNormAttrs, GradConfig, NamedAttrMap, Tensor } from '@tensorflow/tfjs';

/**
 * FusedBatchNorm's gradient as tfjs-core registers it, except the input's: tfjs-core builds
 * dy · rsqrt(σ² + ε) · γ with a `Tile` of the per-channel factor to the whole activation, and
 * wasm's Tile is a generic loop: 273 ms of a 398 ms VGG-slim step (64×64, batch 32, one thread,
 * seven BatchNormalization layers). Multiplying by the [1, 1, 1, C] factor with broadcasting
 * gives every element the same product, so the gradient is the same to the bit, on every
 * backend (gradients are registered per kernel name, not per backend). The other gradients
 * (mean, variance, scale, offset) are tfjs-core's own.
 */
export function fusedBatchNormGradientOver(previous: GradConfig): GradConfig {
  return {
    kernelName: FusedBatchNorm,
    inputsToSave: previous.inputsToSave ?? ['x', 'mean', 'variance', 'scale'],
    gradFunc: (dy, saved, attrs: NamedAttrMap) => {
      const grads = previous.gradFunc(dy, saved, attrs);
      const [x, mean, variance, scale] = saved as Tensor[];
      const g = dy as Tensor;
      // tfjs-core tiles only for per-channel statistics (rank 1); otherwise its own is tile-free.
      if (mean!.rank !== 1 || x!.rank !== 4) return grads;
      const { varianceEpsilon } = attrs as unknown as FusedBatchNormAttrs;
      return {
        ...grads,
        x: () => {
          // The same operations in the same order as tfjs-core's, without the Tile.
          const r = reshape(rsqrt(add(variance!, scalar(varianceEpsilon))), [1, 1, 1, mean!.shape[0]!]);
          return reshape(mul(mul(g, r), scale ?? scalar(1)), x!.shape);
        },
      };
    },
  };
}
