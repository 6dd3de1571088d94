/**
 * Names of the package's own fused kernels, in a module of their own that imports nothing: the
 * benchmark's models and the layers subpath name a kernel without loading the wasm backend.
 */
/** The fused normalisation and its gradient (normalize.ts). */
export const NORMALIZE_KERNEL = 'FedwardNormalize';
export const NORMALIZE_GRAD_KERNEL = 'FedwardNormalizeGrad';
/** relu(conv2d(x, filter) + bias) (conv2d_bias_relu.ts). */
export const CONV2D_BIAS_RELU_KERNEL = 'FedwardConv2DBiasRelu';
