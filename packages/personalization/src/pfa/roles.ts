import type { NamedTensor } from '../types';

/**
 * How PFA treats a tensor (server.py L94–129): `conv` and `dense` kernels go through the Fourier
 * aggregation, `norm` parameters stay with the client (the seed skips every key containing "bn"), and
 * everything else is averaged with weights 1/K.
 */
export type TensorRole = 'conv' | 'dense' | 'norm' | 'other';

// Leaf names of TF.js normalisation weights (BatchNormalization and LayerNormalization).
const NORM_LEAVES = new Set(['gamma', 'beta', 'moving_mean', 'moving_variance']);

/**
 * Classifies a TF.js layer weight from its name and shape. TF.js names weights `<layer>/<leaf>`, possibly
 * under scopes (`sequential_1/conv2d_3/kernel`), and appends `_<n>` to a name already in use in the
 * process, which happens when a page builds both the personalized and the deputy model (`conv2d/kernel_1`).
 * So only the leaf is read, with that suffix stripped; the rank tells a conv kernel from a dense one.
 * Conv biases fall under `other`, as a PyTorch "conv…bias" key would in the seed; so do depthwise kernels,
 * which the seed has no rule for.
 */
export function defaultTensorRole(tensor: Pick<NamedTensor, 'name' | 'shape'>): TensorRole {
  const leaf = (tensor.name.split('/').pop() ?? '').replace(/_\d+$/, '');
  if (NORM_LEAVES.has(leaf)) return 'norm';
  if (leaf === 'kernel' && tensor.shape.length === 4) return 'conv';
  if (leaf === 'kernel' && tensor.shape.length === 2) return 'dense';
  return 'other';
}
