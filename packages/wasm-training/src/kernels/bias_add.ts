import { Add, util } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, TensorInfo } from '@tensorflow/tfjs';
import { allocate } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';

/**
 * Add of a float32 tensor and a vector along its last axis: the bias add
 * after every convolution and dense layer (tf.layers does not fuse it while
 * training). The wasm Add broadcasts through XNNPACK one row of C values at
 * a time; the package's kernel adds the bias to whole rows. Every other Add
 * goes to the original kernel.
 */
export function biasAddOver(original: KernelConfig): KernelConfig {
  function add(args: { inputs: { a: TensorInfo; b: TensorInfo }; backend: WasmOps['backend'] }): TensorInfo {
    const { a, b } = args.inputs;
    const kernels = native(args.backend);
    if (kernels !== null && a.dtype === 'float32' && b.dtype === 'float32') {
      const [x, bias] = isBiasOf(b, a) ? [a, b] : isBiasOf(a, b) ? [b, a] : [null, null];
      if (x !== null && bias !== null) {
        const cols = bias.shape.at(-1)!;
        const out = allocate(args.backend, x.shape);
        // Row ranges across the kernel workers, if any, for large tensors.
        const rows = util.sizeFromShape(x.shape) / cols;
        const chunk = chunkSize(rows, rows * cols >= 1 << 16 ? nativeParts(kernels) : 1);
        nativeChunked(kernels, {
          name: 'add_bias',
          args: [ptr(args.backend, x), ptr(args.backend, bias), ptr(args.backend, out), chunk, cols],
          steps: [chunk * cols * 4, 0, chunk * cols * 4],
          countArg: 3,
          items: rows,
          chunk,
        });
        return out;
      }
    }
    return original.kernelFunc(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
  }
  return { ...original, kernelName: Add, kernelFunc: add as unknown as KernelFunc };
}

/** Whether `bias` is a vector (any leading 1s) as long as the last axis of the larger `x`. */
function isBiasOf(bias: TensorInfo, x: TensorInfo): boolean {
  const cols = bias.shape.at(-1);
  return cols !== undefined && cols > 0 && x.shape.length >= 2 && bias.shape.length <= x.shape.length
    && x.shape.at(-1) === cols && util.sizeFromShape(bias.shape) === cols && util.sizeFromShape(x.shape) > cols;
}
