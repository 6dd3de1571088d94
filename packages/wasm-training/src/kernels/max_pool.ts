import { backend_util, MaxPool } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, MaxPoolAttrs, TensorInfo } from '@tensorflow/tfjs';
import { allocate } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';
import { poolGeometryArgs, poolImageBytes } from './pool_geometry';

/**
 * Max pooling (float32, NHWC) in the package's wasm kernel: one pass over the windows, 4
 * channels at a time, the maximum by strict > from −inf as the cpu backend takes it (NaN never
 * wins; XNNPACK's kernel, which this replaces, gives other values there). Whole 2×2 windows (the
 * CNNs' pools) are four loads and four pmax per vector. With threads, chunks of images across
 * the package's workers. Without the native kernels, the original.
 */
export function maxPoolOver(original: KernelConfig): KernelConfig {
  function maxPool(args: { inputs: { x: TensorInfo }; backend: WasmOps['backend']; attrs: MaxPoolAttrs }): TensorInfo {
    const { x } = args.inputs;
    const kernels = native(args.backend);
    if (kernels === null || x.dtype !== 'float32' || x.shape.length !== 4) {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
    const info = backend_util.computePool2DInfo(x.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
    const out = allocate(args.backend, info.outShape);
    const bytes = poolImageBytes(info);
    const chunk = chunkSize(info.batchSize, nativeParts(kernels));
    nativeChunked(kernels, {
      name: 'max_pool',
      args: [ptr(args.backend, x), ptr(args.backend, out), chunk, ...poolGeometryArgs(info)],
      steps: [chunk * bytes.input, chunk * bytes.output],
      countArg: 2,
      items: info.batchSize,
      chunk,
    });
    return out;
  }
  return { ...original, kernelName: MaxPool, kernelFunc: maxPool as unknown as KernelFunc };
}
