import type { backend_util, TensorInfo } from '@tensorflow/tfjs';
import { allocate } from '../heap';
import { chunkCount, chunkSize, nativeChunked, nativeParts, ptr } from '../native';
import type { ChunkedCall, NativeKernels } from '../native';
import type { WasmOps } from '../wasm_ops';
import type { ConvTail } from './conv2d';

/** Tiles per block in native/kernels.c (`WINO_TILES`, `WINO_GRAD_TILES`): size each chunk's scratch. */
const WINO_TILES = 16;
const WINO_GRAD_TILES = 32;
/** Points of a transformed 6×6 patch. */
const POINTS = 36;

let enabled = true;

/**
 * Whether 3×3 stride-1 convolutions and their input and filter gradients take the Winograd
 * kernels (the default) or the direct ones: for benchmarks and tests that compare the two.
 */
export function setWinogradConvolutions(on: boolean): void {
  enabled = on;
}

/**
 * Whether the Winograd F(4×4, 3×3) kernels take this convolution: a 3×3 filter at stride 1
 * without dilation, padding of 0–2 before (it reads the image from −pad, zero outside, and the
 * output size says where to stop), channels by fours, at least 8 on each side and 24 in all.
 * With fewer (a first layer's 1; U-Net's 8 → 8) the transforms and the short products cost more
 * than the 4× fewer multiply-adds save (`bench/conv-shapes.ts` with and without `--direct`).
 */
export function winogradFits(info: backend_util.Conv2DInfo): boolean {
  const { filterHeight, filterWidth, strideHeight, strideWidth, dilationHeight, dilationWidth, inChannels, outChannels } = info;
  const { top, left } = info.padInfo;
  return enabled && filterHeight === 3 && filterWidth === 3 && strideHeight === 1 && strideWidth === 1
    && dilationHeight === 1 && dilationWidth === 1 && top >= 0 && top <= 2 && left >= 0 && left <= 2
    && inChannels >= 8 && outChannels >= 8 && inChannels + outChannels >= 24
    && inChannels % 4 === 0 && outChannels % 4 === 0;
}

/** The forward convolution (NHWC, float32) by Winograd F(4×4, 3×3), with `tail` as conv2d's. */
export function winogradConv2d(
  kernels: NativeKernels, backend: WasmOps['backend'], x: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo,
  tail: ConvTail,
): TensorInfo {
  const out = allocate(backend, info.outShape);
  run(kernels, backend, x, filter, out, {
    batch: info.batchSize, height: info.inHeight, width: info.inWidth, inC: info.inChannels,
    outHeight: info.outHeight, outWidth: info.outWidth, outC: info.outChannels,
    padTop: info.padInfo.top, padLeft: info.padInfo.left, flip: 0,
  }, tail);
  return out;
}

/**
 * The input gradient of such a convolution: dy convolved by the filter rotated by 180° with its
 * channel axes swapped (`wino_filter`'s flip), read from 2 − pad, which is again a 3×3 stride-1
 * convolution.
 */
export function winogradInputGrad(
  kernels: NativeKernels, backend: WasmOps['backend'], dy: TensorInfo, filter: TensorInfo, info: backend_util.Conv2DInfo,
): TensorInfo {
  const out = allocate(backend, info.inShape);
  run(kernels, backend, dy, filter, out, {
    batch: info.batchSize, height: info.outHeight, width: info.outWidth, inC: info.outChannels,
    outHeight: info.inHeight, outWidth: info.inWidth, outC: info.inChannels,
    padTop: 2 - info.padInfo.top, padLeft: 2 - info.padInfo.left, flip: 1,
  }, { bias: null, relu: false });
  return out;
}

/** Floats of scratch per chunk of `conv2d_wino` from `inC` to `outC` channels. */
export function winogradScratch(inC: number, outC: number): number {
  return POINTS * (WINO_TILES * (inC + outC) + inC + 32);
}

/** The filter [3, 3, ci, co] transformed for `conv2d_wino` (`flip`: rotated for the input gradient); the caller disposes it. */
export function winogradFilter(
  kernels: NativeKernels, backend: WasmOps['backend'], filter: TensorInfo, ci: number, co: number, flip: number,
): TensorInfo {
  const transformed = allocate(backend, [POINTS * ci * co]);
  kernels.wino_filter(ptr(backend, filter), ptr(backend, transformed), ci, co, flip);
  return transformed;
}

interface Geometry {
  batch: number; height: number; width: number; inC: number;
  outHeight: number; outWidth: number; outC: number; padTop: number; padLeft: number; flip: number;
}

function run(
  kernels: NativeKernels, backend: WasmOps['backend'], input: TensorInfo, filter: TensorInfo, out: TensorInfo, g: Geometry,
  tail: ConvTail,
): void {
  const chunk = chunkSize(g.batch, nativeParts(kernels));
  const perChunk = winogradScratch(g.inC, g.outC);
  const [ci, co] = g.flip ? [g.outC, g.inC] : [g.inC, g.outC];
  const transformed = winogradFilter(kernels, backend, filter, ci, co, g.flip);
  // One block of scratch per chunk: chunks run at once on the pool's threads.
  const scratch = allocate(backend, [chunkCount({ items: g.batch, chunk }) * perChunk]);
  try {
    const bits = (tail.bias === null ? 0 : 1) | (tail.relu ? 2 : 0);
    nativeChunked(kernels, {
      name: 'conv2d_wino',
      args: [ptr(backend, input), ptr(backend, transformed), ptr(backend, out), chunk, g.height, g.width, g.inC,
        g.outHeight, g.outWidth, g.outC, g.padTop, g.padLeft, tail.bias === null ? 0 : ptr(backend, tail.bias), bits,
        ptr(backend, scratch)],
      steps: [chunk * g.height * g.width * g.inC * 4, 0, chunk * g.outHeight * g.outWidth * g.outC * 4, 0, 0, 0, 0, 0,
        0, 0, 0, 0, 0, 0, perChunk * 4],
      countArg: 3,
      items: g.batch,
      chunk,
    });
  } finally {
    backend.disposeData(transformed.dataId);
    backend.disposeData(scratch.dataId);
  }
}

/**
 * The chunked call of the filter gradient of such a convolution (`conv2d_wino_filter_grad`): each
 * chunk of images writes its own dW at `dw` + chunk · dW's size, from its own part of `scratch`
 * (`winogradFilterGradScratch` floats per chunk).
 */
export function winogradFilterGradCall(
  info: backend_util.Conv2DInfo, ptrs: { x: number; dy: number; dw: number; scratch: number }, chunk: number,
): ChunkedCall {
  const { inHeight, inWidth, inChannels, outHeight, outWidth, outChannels } = info;
  return {
    name: 'conv2d_wino_filter_grad',
    args: [ptrs.x, ptrs.dy, ptrs.dw, chunk, inHeight, inWidth, inChannels, outHeight, outWidth, outChannels,
      info.padInfo.top, info.padInfo.left, ptrs.scratch],
    steps: [chunk * inHeight * inWidth * inChannels * 4, chunk * outHeight * outWidth * outChannels * 4,
      9 * inChannels * outChannels * 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, winogradFilterGradScratch(info) * 4],
    countArg: 3,
    items: info.batchSize,
    chunk,
  };
}

/** Floats of scratch per chunk of `conv2d_wino_filter_grad`. */
export function winogradFilterGradScratch(info: backend_util.Conv2DInfo): number {
  const { inChannels: ci, outChannels: co } = info;
  return POINTS * (ci * co + WINO_GRAD_TILES * (ci + co) + ci + 48);
}
