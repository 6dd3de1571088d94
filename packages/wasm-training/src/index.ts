export { startWasmTrainingThreads, wasmTrainingNativeKernels, wasmTrainingWorkerChunks } from './native';
export type { NativeKernelsVariant } from './native';
export { registerWasmTrainingKernels, wasmTrainingKernelNames } from './register';
