import type { backend_util } from '@tensorflow/tfjs';

/**
 * A 2-D pooling's geometry as the native pooling kernels take it after their pointers and image
 * count: input height, width and channels, output height and width, window, strides, and the
 * top and left padding.
 */
export function poolGeometryArgs(info: backend_util.Conv2DInfo): number[] {
  return [info.inHeight, info.inWidth, info.inChannels, info.outHeight, info.outWidth, info.filterHeight, info.filterWidth,
    info.strideHeight, info.strideWidth, info.padInfo.top, info.padInfo.left];
}

/** Bytes of one input image and of one output image (float32): the pointer steps of a chunk of images. */
export function poolImageBytes(info: backend_util.Conv2DInfo): { input: number; output: number } {
  return { input: info.inHeight * info.inWidth * info.inChannels * 4, output: info.outHeight * info.outWidth * info.inChannels * 4 };
}
