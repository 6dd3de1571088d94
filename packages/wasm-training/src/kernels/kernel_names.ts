/**
 * Names of the package's own fused kernels, in a module of their own that imports nothing: the
 * benchmark's models and the layers subpath name a kernel without loading the wasm backend.
 */
/** The fused normalisation and its gradient (normalize.ts). */
export const NORMALIZE_KERNEL = 'FedwardNormalize';
export const NORMALIZE_GRAD_KERNEL = 'FedwardNormalizeGrad';
/** relu(conv2d(x, filter) + bias) (conv2d_bias_relu.ts). */
export const CONV2D_BIAS_RELU_KERNEL = 'FedwardConv2DBiasRelu';
/** relu(conv2d(x, filter) + bias) then a 2×2/2 max pool, and its gradient's first step (conv2d_relu_max_pool.ts). */
export const CONV2D_RELU_MAX_POOL_KERNEL = 'FedwardConv2DBiasReluMaxPool';
export const MAX_UNPOOL_RELU_KERNEL = 'FedwardMaxUnpoolOfRelu';
