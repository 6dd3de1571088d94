import { Add, AvgPoolGrad, BatchMatMul, Cast, Concat, Conv2D, FusedBatchNorm, FusedConv2D, getGradient, getKernel, Identity, MaxPool, Mean, Multiply, registerGradient, registerKernel, Relu, Slice, SplitV, Sub, Sum, unregisterKernel } from '@tensorflow/tfjs';
import type { GradConfig, KernelConfig } from '@tensorflow/tfjs';
// Registers the wasm backend and its kernels first: the kernels below compose them.
import '@tensorflow/tfjs-backend-wasm';
import { adamUpdateConfig } from './kernels/adam_update';
import { aliasingCastOver, aliasingIdentityOver } from './kernels/aliasing_identity';
import { avgPoolGradOver } from './kernels/avg_pool_grad';
import { batchMatMulConfigOver } from './kernels/batch_mat_mul';
import { fusedBatchNormOver } from './kernels/batch_norm';
import { fusedBatchNormGradientOver } from './kernels/batch_norm_grad';
import { biasAddOver, rowMultiplyOver, rowSubOver } from './kernels/row_vector_ops';
import { concatOver, sliceOver, splitVOver } from './kernels/concat_split';
import { conv2dConfigOver, fusedConv2dConfigOver } from './kernels/conv2d';
import { conv2dBiasReluConfig, conv2dBiasReluGradient } from './kernels/conv2d_bias_relu';
import { conv2dReluMaxPoolConfig, conv2dReluMaxPoolGradient, maxUnpoolReluConfig } from './kernels/conv2d_relu_max_pool';
import { CONV2D_BIAS_RELU_KERNEL, CONV2D_RELU_MAX_POOL_KERNEL } from './kernels/kernel_names';
import { conv2dBackpropFilterConfig } from './kernels/conv2d_backprop_filter';
import { conv2dBackpropInputConfig } from './kernels/conv2d_backprop_input';
import { depthwiseBackpropFilterConfig } from './kernels/depthwise_backprop_filter';
import { depthwiseBackpropInputConfig } from './kernels/depthwise_backprop_input';
import { leadingAxesReduceOver } from './kernels/leading_axes_reduce';
import { maxPoolOver } from './kernels/max_pool';
import { maxPoolGradConfig, maxPoolGradOfReluConfig } from './kernels/max_pool_grad';
import { NORMALIZE_KERNEL, normalizeConfig, normalizeGradConfig, normalizeGradient } from './kernels/normalize';
import { perRecordConv2dFilterGradConfig } from './kernels/per_record_conv2d_filter_grad';
import { maxPoolGradientOver, RELU_GRAD_KERNEL, reluGradConfig, reluGradientOver, reluGradKernelGradient } from './kernels/relu_grad';

/**
 * Gradient kernels tfjs-backend-wasm 4.22 lacks, DP-SGD's per-record filter gradient, the
 * fused normalisation (forward and backward) that @fedward/models' norms run where it exists,
 * and the fused convolution with bias and ReLU (and with the max pool after it) that
 * conv2dReluLayer runs.
 */
const missingKernels: KernelConfig[] = [
  conv2dBackpropFilterConfig,
  conv2dBiasReluConfig,
  conv2dReluMaxPoolConfig,
  maxUnpoolReluConfig,
  perRecordConv2dFilterGradConfig,
  normalizeConfig,
  normalizeGradConfig,
  depthwiseBackpropInputConfig,
  depthwiseBackpropFilterConfig,
];

/**
 * Kernels tfjs-backend-wasm has as slow scalar loops, replaced outright, the fused Adam step
 * that @fedward/models' optimizer uses where the backend has it, and the fused ReLU and
 * max-pool-of-ReLU gradients that the Relu and MaxPool gradients registered below run.
 */
const replacedKernels: KernelConfig[] = [
  conv2dBackpropInputConfig, maxPoolGradConfig, adamUpdateConfig, reluGradConfig, maxPoolGradOfReluConfig,
];

/** Kernels whose fast cases are intercepted; the rest go to the original. */
const wrappers: Array<[string, (original: KernelConfig) => KernelConfig]> = [
  [BatchMatMul, batchMatMulConfigOver],
  [Add, biasAddOver],
  [FusedBatchNorm, fusedBatchNormOver],
  [Multiply, rowMultiplyOver],
  [Sub, rowSubOver],
  [Conv2D, conv2dConfigOver],
  [FusedConv2D, fusedConv2dConfigOver],
  [Sum, (original) => leadingAxesReduceOver(original, 'sum')],
  [Mean, (original) => leadingAxesReduceOver(original, 'mean')],
  [AvgPoolGrad, avgPoolGradOver],
  [MaxPool, maxPoolOver],
  [Concat, concatOver],
  [SplitV, splitVOver],
  [Slice, sliceOver],
  [Identity, aliasingIdentityOver],
  [Cast, aliasingCastOver],
];

/** Names of every kernel this package registers for 'wasm'. */
export const wasmTrainingKernelNames: readonly string[] = [
  ...[...missingKernels, ...replacedKernels].map((k) => k.kernelName),
  ...wrappers.map(([name]) => name),
];

const installed = new Set<KernelConfig['kernelFunc']>();
const installedGradients = new Set<GradConfig['gradFunc']>();

function install(config: KernelConfig, previous: KernelConfig | undefined): void {
  if (previous !== undefined) unregisterKernel(config.kernelName, 'wasm');
  // Keep the original setup: if the backend initialises after this call, the
  // original kernel's cwrap still has to happen for the code we delegate to.
  const setupFunc = config.setupFunc ?? previous?.setupFunc;
  registerKernel(setupFunc === undefined ? config : { ...config, setupFunc });
  installed.add(config.kernelFunc);
}

/**
 * Registers, for the 'wasm' backend, the gradient kernels that training a
 * tf.layers model needs and tfjs-backend-wasm lacks, and replaces the slow
 * paths of the kernels a training step spends its time in (see README).
 * Idempotent; platform-free (no DOM, no Node APIs).
 */
export function registerWasmTrainingKernels(): void {
  for (const config of [...missingKernels, ...replacedKernels]) {
    const current = getKernel(config.kernelName, 'wasm');
    if (current === undefined || !installed.has(current.kernelFunc)) install(config, current);
  }
  for (const [name, wrap] of wrappers) {
    const current = getKernel(name, 'wasm');
    if (current !== undefined && !installed.has(current.kernelFunc)) install(wrap(current), current);
  }
  // Relu's and MaxPool's gradients run the fused kernels on wasm and delegate to the ones they
  // wrap elsewhere (gradients are registered per kernel name for every backend); FusedBatchNorm's
  // drops a Tile, on every backend.
  for (const [name, wrap] of [[Relu, reluGradientOver], [MaxPool, maxPoolGradientOver], [FusedBatchNorm, fusedBatchNormGradientOver]] as const) {
    const previous = getGradient(name);
    if (previous !== undefined && !installedGradients.has(previous.gradFunc)) {
      const config = wrap(previous);
      registerGradient(config);
      installedGradients.add(config.gradFunc);
    }
  }
  if (getGradient(RELU_GRAD_KERNEL) === undefined) registerGradient(reluGradKernelGradient);
  if (getGradient(NORMALIZE_KERNEL) === undefined) registerGradient(normalizeGradient);
  if (getGradient(CONV2D_BIAS_RELU_KERNEL) === undefined) registerGradient(conv2dBiasReluGradient);
  if (getGradient(CONV2D_RELU_MAX_POOL_KERNEL) === undefined) registerGradient(conv2dReluMaxPoolGradient);
}
