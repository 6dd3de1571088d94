export { registerWasmTrainingKernels, wasmTrainingKernelNames } from './register';
