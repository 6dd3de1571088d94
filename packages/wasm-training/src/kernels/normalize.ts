import { engine, util } from '@tensorflow/tfjs';
import type { GradConfig, KernelBackend, KernelConfig, KernelFunc, NamedAttrMap, Tensor, TensorInfo } from '@tensorflow/tfjs';
import { allocate, f32 } from '../heap';
import { chunkSize, native, nativeChunked, nativeParts, ptr } from '../native';
import type { NativeKernels } from '../native';
import type { WasmOps } from '../wasm_ops';
import { NORMALIZE_GRAD_KERNEL, NORMALIZE_KERNEL } from './kernel_names';
import { owesReluMask } from './relu_grad';

/**
 * Fused normalisation without affine weights, forward and backward, for the two normalisations
 * of @fedward/models (the names and contract are NORMALIZE_KERNEL in packages/models/src/norm.ts,
 * which runs them where the backend has them):
 *   y = (x − μ)·rsqrt(σ² + ε),  dx = rsqrt(σ² + ε)·(dy − mean(dy) − y·mean(dy·y)),
 * biased variance, over x [N, …, C] viewed as N images of [rows, C]. `groups` 0: batch
 * statistics, per channel over every image and position (BatchStatNorm); g ≥ 1: per image and
 * group of C/g contiguous channels over its positions (GroupNorm). Op by op the forward is
 * tf.moments' four kernels plus a batch norm, and the backward another half dozen, each a full
 * pass over the activation (DenseNet's 21 norms: ~60 ms of a 180 ms step, the largest part
 * after the convolutions); here each direction is one reading pass (float64 sums per image and
 * channel) and one writing pass. Outputs [y, rstd] with rstd [C] (batch) or [N, groups]; the
 * gradient kernel takes {dy, y, rstd}. With threads, ranges of images.
 */
export { NORMALIZE_GRAD_KERNEL, NORMALIZE_KERNEL };

interface Attrs {
  groups: number;
  epsilon: number;
  /**
   * Gradient kernel only: 1 when dy is the gradient of a ReLU applied to y that still owes the
   * ReLU's mask (relu_grad.ts passes it on unmasked): dy·(y > 0) is used in its place.
   */
  reluMask?: number;
}

/** N images of rows × C, with the group layout. */
interface Layout {
  blocks: number;
  rows: number;
  cols: number;
  groups: number;
}

function layout(name: string, x: TensorInfo, groups: number): Layout {
  if (x.dtype !== 'float32' || x.shape.length < 2) throw new Error(`${name}: x must be float32 [N, …, C], got ${x.dtype} [${x.shape}]`);
  const blocks = x.shape[0]!;
  const cols = x.shape.at(-1)!;
  const rows = util.sizeFromShape(x.shape.slice(1, -1));
  if (!(Number.isInteger(groups) && groups >= 0 && (groups === 0 || cols % groups === 0))) {
    throw new Error(`${name}: groups must be 0 (batch statistics) or divide the ${cols} channels, got ${groups}`);
  }
  return { blocks, rows, cols, groups };
}

/** Scratch on the heap for float64 sums: two per image and channel. */
function sumsScratch(backend: KernelBackend, l: Layout): TensorInfo {
  return allocate(backend, [4 * l.blocks * l.cols]);
}

/** Images per chunk: across the kernel workers from 2¹⁶ values (below, a call costs less than a wake-up). */
function imagesPerChunk(kernels: NativeKernels, l: Layout): number {
  return chunkSize(l.blocks, l.blocks * l.rows * l.cols >= 1 << 16 ? nativeParts(kernels) : 1);
}

/**
 * Per image and channel, Σ u and Σ u·w over the rows (w = u: the second moment), in float64:
 * the native kernel (`name`) or a JS loop.
 */
function channelSums(backend: WasmOps['backend'], l: Layout, u: TensorInfo, w: TensorInfo | null, reluMask = false): { sums: Float64Array; scratch: TensorInfo | null } {
  const { blocks, rows, cols } = l;
  const kernels = native(backend);
  if (kernels !== null) {
    const scratch = sumsScratch(backend, l);
    const chunk = imagesPerChunk(kernels, l);
    const image = rows * cols * 4;
    nativeChunked(kernels, w === null
      ? { name: 'norm_moments', args: [ptr(backend, u), ptr(backend, scratch), chunk, rows, cols], steps: [chunk * image, chunk * cols * 16, 0, 0, 0], countArg: 2, items: blocks, chunk }
      : { name: 'norm_grad_moments', args: [ptr(backend, u), ptr(backend, w), ptr(backend, scratch), chunk, rows, cols, reluMask ? 1 : 0], steps: [chunk * image, chunk * image, chunk * cols * 16, 0, 0, 0, 0], countArg: 3, items: blocks, chunk });
    const view = f32(backend, scratch);
    return { sums: new Float64Array(view.buffer, view.byteOffset, 2 * blocks * cols), scratch };
  }
  const a = f32(backend, u);
  const b = w === null ? a : f32(backend, w);
  const sums = new Float64Array(2 * blocks * cols);
  for (let k = 0; k < blocks; k++) {
    const s = 2 * k * cols;
    for (let r = 0; r < rows; r++) {
      const base = (k * rows + r) * cols;
      for (let c = 0; c < cols; c++) {
        const v = reluMask && !(b[base + c]! > 0) ? 0 : a[base + c]!;
        sums[s + c] = sums[s + c]! + v;
        sums[s + cols + c] = sums[s + cols + c]! + v * b[base + c]!;
      }
    }
  }
  return { sums, scratch: null };
}

/**
 * Means of the two sums over each statistic's population (batch: every image, per channel;
 * groups: per image over its group's channels): [first, second], one value per statistic.
 */
function statisticMeans(l: Layout, sums: Float64Array): [Float64Array, Float64Array] {
  const { blocks, rows, cols, groups } = l;
  const stats = groups === 0 ? cols : blocks * groups;
  const first = new Float64Array(stats);
  const second = new Float64Array(stats);
  const per = groups === 0 ? 1 : cols / groups;
  for (let k = 0; k < blocks; k++)
    for (let c = 0; c < cols; c++) {
      const i = groups === 0 ? c : k * groups + Math.floor(c / per);
      first[i] = first[i]! + sums[2 * k * cols + c]!;
      second[i] = second[i]! + sums[2 * k * cols + cols + c]!;
    }
  const count = groups === 0 ? blocks * rows : rows * per;
  for (let i = 0; i < stats; i++) {
    first[i] = first[i]! / count;
    second[i] = second[i]! / count;
  }
  return [first, second];
}

/**
 * Per-channel coefficients on the heap, `terms` arrays of C (batch) or N·C (groups) floats,
 * filled from one value per statistic each: the native passes read them by channel.
 */
function coefficients(backend: WasmOps['backend'], l: Layout, perStatistic: Float64Array[]): { tensor: TensorInfo; stride: number; length: number } {
  const { blocks, cols, groups } = l;
  const length = groups === 0 ? cols : blocks * cols;
  const tensor = allocate(backend, [perStatistic.length * length]);
  const out = f32(backend, tensor);
  const per = groups === 0 ? 1 : cols / groups;
  for (let i = 0; i < length; i++) {
    const stat = groups === 0 ? i : Math.floor(i / cols) * groups + Math.floor((i % cols) / per);
    perStatistic.forEach((values, t) => (out[t * length + i] = values[stat]!));
  }
  return { tensor, stride: groups === 0 ? 0 : cols, length };
}

function normalize(args: { inputs: { x: TensorInfo }; backend: WasmOps['backend']; attrs: Attrs }): TensorInfo[] {
  const { backend } = args;
  const { x } = args.inputs;
  const { groups, epsilon } = args.attrs;
  const l = layout(NORMALIZE_KERNEL, x, groups);
  const { sums, scratch } = channelSums(backend, l, x, null);
  const [mean, square] = statisticMeans(l, sums);
  if (scratch !== null) backend.disposeData(scratch.dataId);
  const rstd = mean.map((m, i) => 1 / Math.sqrt(Math.max(0, square[i]! - m * m) + epsilon));
  const y = allocate(backend, x.shape);
  const r = allocate(backend, groups === 0 ? [l.cols] : [l.blocks, groups]);
  f32(backend, r).set(rstd);
  affinePass(backend, l, [x], [rstd, mean], y);
  return [y, r];
}

function normalizeGrad(args: { inputs: { dy: TensorInfo; y: TensorInfo; rstd: TensorInfo }; backend: WasmOps['backend']; attrs: Attrs }): TensorInfo {
  const { backend } = args;
  const { dy, y, rstd } = args.inputs;
  const l = layout(NORMALIZE_GRAD_KERNEL, y, args.attrs.groups);
  if (dy.dtype !== 'float32' || !util.arraysEqual(dy.shape, y.shape)) throw new Error(`${NORMALIZE_GRAD_KERNEL}: dy must be float32 [${y.shape}], got ${dy.dtype} [${dy.shape}]`);
  const reluMask = args.attrs.reluMask === 1;
  const { sums, scratch } = channelSums(backend, l, dy, y, reluMask);
  const [meanDy, meanDyY] = statisticMeans(l, sums);
  if (scratch !== null) backend.disposeData(scratch.dataId);
  const r = Float64Array.from(f32(backend, rstd));
  if (r.length !== meanDy.length) throw new Error(`${NORMALIZE_GRAD_KERNEL}: rstd has ${r.length} values for ${meanDy.length} statistics`);
  const dx = allocate(backend, y.shape);
  // dx = dy·r + y·(−r·mean(dy·y)) + (−r·mean(dy)).
  affinePass(backend, l, [dy, y], [r, r.map((v, i) => -v * meanDyY[i]!), r.map((v, i) => -v * meanDy[i]!)], dx, reluMask);
  return dx;
}

/**
 * out = (x − b)·a (inputs [x]) or dy·a + y·b + e (inputs [dy, y]), coefficients per statistic
 * expanded to channels: the native pass, or a JS loop.
 */
function affinePass(backend: WasmOps['backend'], l: Layout, inputs: TensorInfo[], perStatistic: Float64Array[], out: TensorInfo, reluMask = false): void {
  const { blocks, rows, cols } = l;
  const coef = coefficients(backend, l, perStatistic);
  const kernels = native(backend);
  if (kernels !== null) {
    const chunk = imagesPerChunk(kernels, l);
    const image = chunk * rows * cols * 4;
    const base = ptr(backend, coef.tensor);
    const terms = perStatistic.map((_, t) => base + 4 * t * coef.length);
    const coefStep = chunk * coef.stride * 4;
    const data = inputs.map((t) => ptr(backend, t));
    nativeChunked(kernels, {
      name: inputs.length === 1 ? 'norm_apply' : 'norm_grad_apply',
      args: [...data, ...terms, ptr(backend, out), chunk, rows, cols, coef.stride, ...(inputs.length === 1 ? [] : [reluMask ? 1 : 0])],
      steps: [...data.map(() => image), ...terms.map(() => coefStep), image, 0, 0, 0, 0, 0],
      countArg: data.length + terms.length + 1,
      items: blocks,
      chunk,
    });
  } else {
    const c = f32(backend, coef.tensor);
    const src = inputs.map((t) => f32(backend, t));
    const o = f32(backend, out);
    for (let k = 0; k < blocks; k++) {
      const at = k * coef.stride;
      for (let r = 0; r < rows; r++) {
        const base = (k * rows + r) * cols;
        for (let j = 0; j < cols; j++) {
          const i = at + j;
          o[base + j] = src.length === 1
            ? (src[0]![base + j]! - c[coef.length + i]!) * c[i]!
            : (reluMask && !(src[1]![base + j]! > 0) ? 0 : src[0]![base + j]!) * c[i]! + src[1]![base + j]! * c[coef.length + i]! + c[2 * coef.length + i]!;
        }
      }
    }
  }
  backend.disposeData(coef.tensor.dataId);
}

export const normalizeConfig: KernelConfig = {
  kernelName: NORMALIZE_KERNEL,
  backendName: 'wasm',
  kernelFunc: normalize as unknown as KernelFunc,
};

export const normalizeGradConfig: KernelConfig = {
  kernelName: NORMALIZE_GRAD_KERNEL,
  backendName: 'wasm',
  kernelFunc: normalizeGrad as unknown as KernelFunc,
};

/**
 * The forward kernel's gradient (x only; rstd is a by-product no loss depends on). Where dy is
 * a ReLU's gradient that still owes that ReLU's mask (relu_grad.ts: a ReLU whose input is this
 * kernel's y, its only consumer), the gradient kernel applies the mask in its own passes.
 */
export const normalizeGradient: GradConfig = {
  kernelName: NORMALIZE_KERNEL,
  outputsToSave: [true, true],
  gradFunc: (dys, saved, attrs: NamedAttrMap) => {
    const [y, rstd] = saved as Tensor[];
    const dy = (Array.isArray(dys) ? dys[0] : dys) as Tensor;
    const reluMask = owesReluMask(dy, y!) ? 1 : 0;
    return { x: () => engine().runKernel(NORMALIZE_GRAD_KERNEL, { dy, y: y!, rstd: rstd! }, { ...attrs, reluMask }) as Tensor };
  },
};
