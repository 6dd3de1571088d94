import { AvgPoolGrad, backend_util } from '@tensorflow/tfjs';
import type { AvgPoolGradAttrs, KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';
import { poolGeometryArgs, poolImageBytes } from './pool_geometry';

/**
 * Average-pooling gradient (float32) in the package's wasm kernel: one pass over the windows,
 * each adding dy / (filter area) to its positions inside the image, 4 channels at a time, as
 * the cpu backend's gradient (which divides by the filter area whatever the padding);
 * tfjs-backend-wasm's is a scalar loop per input position (3 ms for the one transition of the
 * DenseNet stand-in, the step's largest call after the convolutions on two threads). With
 * threads, chunks of images across the package's workers. Without the native kernels (the
 * JS-fallback mode) and for other dtypes, the original.
 */
export function avgPoolGradOver(original: KernelConfig): KernelConfig {
  function avgPoolGrad(args: { inputs: { dy: TensorInfo; input: TensorInfo }; backend: WasmOps['backend']; attrs: AvgPoolGradAttrs }): TensorInfo {
    const { dy, input } = args.inputs;
    const kernels = native(args.backend);
    if (kernels === null || dy.dtype !== 'float32' || input.dtype !== 'float32') {
      return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
    }
    const { filterSize, strides, pad } = args.attrs;
    const info = backend_util.computePool2DInfo(input.shape as [number, number, number, number], filterSize, strides, 1, pad);
    const out = allocate(args.backend, input.shape);
    const bytes = poolImageBytes(info);
    const chunk = chunkSize(info.batchSize, nativeParts(kernels));
    nativeChunked(kernels, {
      name: 'avg_pool_grad',
      args: [ptr(args.backend, dy), ptr(args.backend, out), chunk, ...poolGeometryArgs(info), 1 / (info.filterHeight * info.filterWidth)],
      steps: [chunk * bytes.output, chunk * bytes.input],
      countArg: 2,
      items: info.batchSize,
      chunk,
    });
    return out;
  }
  return { ...original, kernelName: AvgPoolGrad, kernelFunc: avgPoolGrad as unknown as KernelFunc };
}
