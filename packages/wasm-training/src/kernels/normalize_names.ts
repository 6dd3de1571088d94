/**
 * Names of the fused normalisation kernels (normalize.ts), in a module of their own that imports
 * nothing: the benchmark's models name the kernel without loading the wasm backend.
 */
export const NORMALIZE_KERNEL = 'FedwardNormalize';
export const NORMALIZE_GRAD_KERNEL = 'FedwardNormalizeGrad';
