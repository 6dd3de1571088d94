export { setWasmTrainingThreads, startWasmTrainingThreads, wasmTrainingNativeKernels, wasmTrainingWorkerChunks } from './native';
export type { NativeKernelsVariant } from './native';
export { registerWasmTrainingKernels, wasmTrainingKernelNames } from './register';
export { PER_RECORD_CONV2D_FILTER_GRAD } from './kernels/per_record_conv2d_filter_grad';
