import { backend_util, MaxPoolGrad } from '@tensorflow/tfjs';
import type { KernelConfig, KernelFunc, MaxPoolGradAttrs, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { WasmOps } from '../wasm_ops';
import { poolGeometryArgs, poolImageBytes } from './pool_geometry';

/**
 * Max-pooling gradient: each window's dy goes to the first position (in
 * row-major window order) holding the window's maximum, as in the cpu
 * backend. tfjs-backend-wasm 4.22's C++ version visits, for every input
 * pixel, every window that might contain it, and seeds its running maximum
 * with FLT_MIN, so windows of negative values lose their gradient. This is a
 * single pass over the windows, channels innermost: the package's wasm SIMD
 * kernel (4 channels at a time), or the same loop in JS over heap views.
 */
function maxPoolGrad(args: {
  inputs: { dy: TensorInfo; input: TensorInfo; output: TensorInfo };
  backend: WasmOps['backend'];
  attrs: MaxPoolGradAttrs;
}, positiveOnly: boolean): TensorInfo {
  const { dy, input } = args.inputs;
  const { filterSize, strides, pad, dimRoundingMode } = args.attrs;
  const info = backend_util.computePool2DInfo(
    input.shape as [number, number, number, number], filterSize, strides, 1, pad, dimRoundingMode);
  const { batchSize, inHeight, inWidth, inChannels: channels, outHeight, outWidth } = info;

  const out = allocate(args.backend, input.shape);
  const kernels = native(args.backend);
  if (kernels !== null && input.dtype === 'float32' && dy.dtype === 'float32') {
    // Images apart across the kernel workers, if any (each part zeroes its own dx).
    const [px, pdy, pdx] = [ptr(args.backend, input), ptr(args.backend, dy), ptr(args.backend, out)];
    const bytes = poolImageBytes(info);
    const chunk = chunkSize(batchSize, nativeParts(kernels));
    nativeChunked(kernels, {
      name: 'max_pool_grad',
      args: [px, pdy, pdx, chunk, ...poolGeometryArgs(info), positiveOnly ? 1 : 0],
      steps: [chunk * bytes.input, chunk * bytes.output, chunk * bytes.input],
      countArg: 3,
      items: batchSize,
      chunk,
    });
    return out;
  }
  const x = f32(args.backend, input);
  const g = f32(args.backend, dy);
  const dx = f32(args.backend, out);
  dx.fill(0);
  // Running maximum per (window column, channel) of one row of windows:
  // channels stay innermost, the layout of x, and no per-window setup.
  const best = new Float32Array(outWidth * channels);
  const at = new Int32Array(outWidth * channels);
  for (let b = 0; b < batchSize; b++) {
    for (let oy = 0; oy < outHeight; oy++) {
      best.fill(-Infinity);
      at.fill(-1);
      const top = oy * info.strideHeight - info.padInfo.top;
      const rowEnd = Math.min(inHeight, top + info.filterHeight);
      // Rows outer, columns inner: each window is scanned in row-major order.
      for (let r = Math.max(0, top); r < rowEnd; r++) {
        for (let ox = 0; ox < outWidth; ox++) {
          const left = ox * info.strideWidth - info.padInfo.left;
          const colEnd = Math.min(inWidth, left + info.filterWidth);
          const k = ox * channels;
          for (let c = Math.max(0, left); c < colEnd; c++) {
            const base = ((b * inHeight + r) * inWidth + c) * channels;
            for (let ch = 0; ch < channels; ch++) {
              const v = x[base + ch]!;
              if (v > best[k + ch]!) {
                best[k + ch] = v;
                at[k + ch] = base + ch;
              }
            }
          }
        }
      }
      const dyBase = (b * outHeight + oy) * outWidth * channels;
      for (let k = 0; k < outWidth * channels; k++) {
        const target = at[k]!;
        if (target >= 0 && (!positiveOnly || best[k]! > 0)) dx[target] = dx[target]! + g[dyBase + k]!;
      }
    }
  }
  return out;
}

export const maxPoolGradConfig: KernelConfig = {
  kernelName: MaxPoolGrad,
  backendName: 'wasm',
  kernelFunc: ((args: Parameters<typeof maxPoolGrad>[0]) => maxPoolGrad(args, false)) as unknown as KernelFunc,
};

/**
 * The gradient through a ReLU and then a max pool in one pass: MaxPoolGrad whose windows pass
 * dy only where their maximum (a ReLU output) is > 0, which is where the ReLU's own mask is 1.
 * Same inputs and attributes as MaxPoolGrad; the Relu gradient then has nothing left to do
 * (relu_grad.ts).
 */
export const MAX_POOL_GRAD_OF_RELU_KERNEL = 'FedwardMaxPoolGradOfRelu';

export const maxPoolGradOfReluConfig: KernelConfig = {
  kernelName: MAX_POOL_GRAD_OF_RELU_KERNEL,
  backendName: 'wasm',
  kernelFunc: ((args: Parameters<typeof maxPoolGrad>[0]) => maxPoolGrad(args, true)) as unknown as KernelFunc,
};
