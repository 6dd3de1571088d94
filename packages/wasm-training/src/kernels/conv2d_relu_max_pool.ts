import { backend_util, engine, getKernel, util } from '@tensorflow/tfjs';
import type { Conv2DAttrs, GradConfig, KernelConfig, KernelFunc, NamedAttrMap, Tensor, Tensor4D, TensorInfo } from '@tensorflow/tfjs';
import { allocate, bytes, f32 } from '../heap';
import { chunkCount, chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';
import type { WasmOps } from '../wasm_ops';
import { convPoolShapesFit } from '../conv_pool_fusion';
import { CONV2D_BIAS_RELU_KERNEL, CONV2D_RELU_MAX_POOL_KERNEL, MAX_UNPOOL_RELU_KERNEL } from './kernel_names';
import { winogradFilter, winogradFits, winogradScratch } from './conv2d_winograd';
import { convBackprops } from './conv2d_bias_relu';

/**
 * maxPool2x2(relu(conv2d(x, filter) + bias)) as one kernel (NHWC, float32, a valid 2×2 pool of
 * stride 2): the convolution's output never reaches memory. On the reference CNN (batch 32) the
 * first convolution's output is 32·62·62·16 floats, 7.9 MB, which Conv2D, MaxPool and the pool's
 * gradient each wrote or read in full; here each image's output stays in a cache-sized scratch
 * between the convolution (the package's conv2d, or conv2d_wino where it fits) and the pool.
 *
 * Outputs: the pooled values, equal to the three kernels' to the bit, and the mask the gradient
 * needs instead of the convolution's output: per pooled value one byte, the window position of
 * the first maximum (as max_pool_grad picks it) plus 4 where that maximum is > 0 (where the ReLU
 * passed it), bytes packed four to an int32 ([n, h/2, w/2, co/4]). `co` must be a multiple of 4
 * and the output at least 2×2 (`convPoolShapesFit`).
 */
function conv2dReluMaxPool(args: {
  inputs: { x: TensorInfo; filter: TensorInfo; bias: TensorInfo };
  backend: WasmOps['backend'];
  attrs: Conv2DAttrs;
}): TensorInfo[] {
  const { backend } = args;
  const { x, filter, bias } = args.inputs;
  const info = convInfo(x.shape, filter.shape, args.attrs);
  const { batchSize: n, outHeight, outWidth, outChannels: co } = info;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || bias.dtype !== 'float32' || !convPoolShapesFit(info)) {
    throw new Error(`${CONV2D_RELU_MAX_POOL_KERNEL}: float32 NHWC, output channels by fours and an output of at least 2×2; got ` +
      `x ${x.dtype} [${x.shape}], filter ${filter.dtype} [${filter.shape}], output [${info.outShape}]`);
  }
  const pooledShape = [n, Math.floor(outHeight / 2), Math.floor(outWidth / 2), co];
  const pooled = allocate(backend, pooledShape);
  const mask = (backend as BackendWasm).makeOutput([...pooledShape.slice(0, 3), co / 4], 'int32');
  const kernels = native(backend);
  if (kernels === null) {
    poolWithMaskJs(backend, convBiasRelu(args), pooled, mask, info);
    return [pooled, mask];
  }
  const wino = winogradFits(info);
  const chunk = chunkSize(n, nativeParts(kernels));
  // Per chunk: one image's convolution output, then conv2d_wino's own scratch.
  const perChunk = outHeight * outWidth * co + (wino ? winogradScratch(info.inChannels, co) : 0);
  const scratch = allocate(backend, [chunkCount({ items: n, chunk }) * perChunk]);
  const weights = wino ? winogradFilter(kernels, backend, filter, info.inChannels, co, 0) : filter;
  try {
    const pooledImage = pooledShape[1]! * pooledShape[2]! * co;
    nativeChunked(kernels, {
      name: 'conv2d_relu_max_pool',
      args: [ptr(backend, x), ptr(backend, weights), ptr(backend, pooled), ptr(backend, mask), chunk,
        info.inHeight, info.inWidth, info.inChannels, outHeight, outWidth, co, info.filterHeight, info.filterWidth,
        info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left, ptr(backend, bias), wino ? 1 : 0,
        ptr(backend, scratch)],
      steps: [chunk * info.inHeight * info.inWidth * info.inChannels * 4, 0, chunk * pooledImage * 4, chunk * pooledImage,
        0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, perChunk * 4],
      countArg: 4,
      items: n,
      chunk,
    });
  } finally {
    backend.disposeData(scratch.dataId);
    if (weights !== filter) backend.disposeData(weights.dataId);
  }
  return [pooled, mask];
}

function convInfo(xShape: number[], filterShape: number[], attrs: Conv2DAttrs): backend_util.Conv2DInfo {
  return backend_util.computeConv2DInfo(xShape as [number, number, number, number], filterShape as [number, number, number, number],
    attrs.strides, 1, attrs.pad, attrs.dimRoundingMode);
}


/** relu(conv2d + bias) where the native kernels do not run: the fused convolution's own fallback. */
function convBiasRelu(args: Parameters<typeof conv2dReluMaxPool>[0]): TensorInfo {
  const fused = getKernel(CONV2D_BIAS_RELU_KERNEL, 'wasm')!.kernelFunc;
  return fused(args as unknown as Parameters<KernelFunc>[0]) as TensorInfo;
}

/** pool2_mask (kernels.c) over heap views, image after image; disposes `y`. */
function poolWithMaskJs(backend: WasmOps['backend'], y: TensorInfo, pooled: TensorInfo, mask: TensorInfo, info: backend_util.Conv2DInfo): void {
  const { batchSize: n, outHeight: h, outWidth: w, outChannels: c } = info;
  const [ph, pw] = [Math.floor(h / 2), Math.floor(w / 2)];
  const v = f32(backend, y);
  const out = f32(backend, pooled);
  const m = bytes(backend, mask);
  for (let b = 0; b < n; b++) {
    for (let py = 0; py < ph; py++) {
      for (let px = 0; px < pw; px++) {
        const o = ((b * ph + py) * pw + px) * c;
        const corner = ((b * h + 2 * py) * w + 2 * px) * c;
        const positions = [corner, corner + c, corner + w * c, corner + (w + 1) * c];
        for (let k = 0; k < c; k++) {
          let best = -Infinity;
          let at = 0;
          positions.forEach((p, i) => {
            if (v[p + k]! > best) {
              best = v[p + k]!;
              at = i;
            }
          });
          out[o + k] = best;
          m[o + k] = at | (best > 0 ? 4 : 0);
        }
      }
    }
  }
  backend.disposeData(y.dataId);
}

export const conv2dReluMaxPoolConfig: KernelConfig = {
  kernelName: CONV2D_RELU_MAX_POOL_KERNEL,
  backendName: 'wasm',
  kernelFunc: conv2dReluMaxPool as unknown as KernelFunc,
};

/**
 * The gradient through the pool and the ReLU, dy [n, h/2, w/2, c] to the convolution's output
 * [n, height, width, c]: dy at each window's recorded winner where its maximum was > 0, zero
 * elsewhere; and the sum of that, the bias gradient [c] (float64 sums, as the cpu backend's).
 * Attributes: the convolution output's `height` and `width`.
 */
function maxUnpoolRelu(args: {
  inputs: { dy: TensorInfo; mask: TensorInfo };
  backend: WasmOps['backend'];
  attrs: { height: number; width: number };
}): TensorInfo[] {
  const { backend } = args;
  const { dy, mask } = args.inputs;
  const { height, width } = args.attrs;
  const [n, ph, pw, c] = dy.shape as [number, number, number, number];
  if (dy.dtype !== 'float32' || mask.dtype !== 'int32' || c % 4 !== 0 || ph !== Math.floor(height / 2) || pw !== Math.floor(width / 2)
    || !util.arraysEqual(mask.shape, [n, ph, pw, c / 4])) {
    throw new Error(`${MAX_UNPOOL_RELU_KERNEL}: dy float32 [n, ${Math.floor(height / 2)}, ${Math.floor(width / 2)}, c by fours] and ` +
      `its int32 mask [n, h, w, c/4]; got dy ${dy.dtype} [${dy.shape}], mask ${mask.dtype} [${mask.shape}]`);
  }
  const dx = allocate(backend, [n, height, width, c]);
  const biasGrad = allocate(backend, [c]);
  const kernels = native(backend);
  const sums = new Float64Array(c);
  if (kernels !== null) {
    const chunk = chunkSize(n, nativeParts(kernels));
    const chunks = chunkCount({ items: n, chunk });
    // float64 accumulators, one row per chunk (heap allocations are 8-byte aligned).
    const acc = allocate(backend, [2 * c * chunks]);
    nativeChunked(kernels, {
      name: 'max_unpool_relu',
      args: [ptr(backend, dy), ptr(backend, mask), ptr(backend, dx), ptr(backend, acc), chunk, height, width, c],
      steps: [chunk * ph * pw * c * 4, chunk * ph * pw * c, chunk * height * width * c * 4, c * 8, 0, 0, 0, 0],
      countArg: 4,
      items: n,
      chunk,
    });
    const view = f32(backend, acc);
    const partial = new Float64Array(view.buffer, view.byteOffset, c * chunks);
    for (let k = 0; k < chunks; k++) for (let j = 0; j < c; j++) sums[j] = sums[j]! + partial[k * c + j]!;
    backend.disposeData(acc.dataId);
  } else {
    const g = f32(backend, dy);
    const out = f32(backend, dx);
    const m = bytes(backend, mask);
    out.fill(0);
    for (let b = 0; b < n; b++) {
      for (let py = 0; py < ph; py++) {
        for (let px = 0; px < pw; px++) {
          const o = ((b * ph + py) * pw + px) * c;
          const corner = ((b * height + 2 * py) * width + 2 * px) * c;
          for (let k = 0; k < c; k++) {
            const code = m[o + k]!;
            if ((code & 4) === 0) continue;
            const at = code & 3;
            out[corner + ((at >> 1) * width + (at & 1)) * c + k] = g[o + k]!;
            sums[k] = sums[k]! + g[o + k]!;
          }
        }
      }
    }
  }
  f32(backend, biasGrad).set(sums);
  return [dx, biasGrad];
}

export const maxUnpoolReluConfig: KernelConfig = {
  kernelName: MAX_UNPOOL_RELU_KERNEL,
  backendName: 'wasm',
  kernelFunc: maxUnpoolRelu as unknown as KernelFunc,
};

/**
 * First-order gradient (conv2dReluLayer runs tf.layers' ops under an outer tape): the pooled
 * gradient back to the convolution's output through the mask, with the bias gradient from the
 * same pass, then the convolution's input and filter gradients (the Conv2DBackprop kernels),
 * each only if the tape asks for it. The mask's own gradient is zero and unread.
 */
export const conv2dReluMaxPoolGradient: GradConfig = {
  kernelName: CONV2D_RELU_MAX_POOL_KERNEL,
  inputsToSave: ['x', 'filter'],
  outputsToSave: [false, true],
  gradFunc: (dys, saved, attrs: NamedAttrMap) => {
    const [x, filter, mask] = saved as [Tensor4D, Tensor4D, Tensor];
    const info = convInfo(x.shape, filter.shape, attrs as unknown as Conv2DAttrs);
    const dy = (dys as Tensor[])[0]!;
    // Outside the closures, which the tape runs each in a tidy of its own: both live until the
    // backward pass ends.
    const [dOut, dBias] = engine().runKernel(MAX_UNPOOL_RELU_KERNEL, { dy, mask },
      { height: info.outHeight, width: info.outWidth }) as Tensor[];
    return { ...convBackprops(x, filter, dOut!, attrs), bias: () => dBias! };
  },
};
