/**
 * PNG slices via fast-png: 8- and 16-bit grayscale, RGB, with or without
 * alpha, palette. 16-bit needs this (a canvas would quantise to 8 bits).
 */
import { convertIndexedToRgb, decode } from 'fast-png';
import { DataError } from './errors';

export interface DecodedPng {
  fileName: string;
  width: number;
  height: number;
  bitDepth: number;
  /** Colour channels kept (1 gray or 3 RGB); alpha is dropped. */
  channels: 1 | 3;
  /** Interleaved samples scaled to [0, 1] by the bit depth. */
  values: Float32Array;
}

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export function isPng(bytes: Uint8Array): boolean {
  return PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

export function decodePng(bytes: Uint8Array, fileName: string): DecodedPng {
  if (!isPng(bytes)) throw new DataError(fileName, 'not a PNG file (bad signature); export slices as PNG or DICOM');
  let png;
  try {
    png = decode(bytes);
  } catch (error) {
    throw new DataError(fileName, `the PNG could not be decoded (${(error as Error).message}); the file may be truncated — copy it again`);
  }
  let data = png.data;
  let channels = png.channels;
  let depth: number = png.depth;
  if (png.palette) {
    data = convertIndexedToRgb(png);
    channels = png.palette[0]?.length ?? 3;
    depth = 8;
  }
  const keep: 1 | 3 = channels >= 3 ? 3 : 1;
  const pixels = png.width * png.height;
  const scale = 1 / (2 ** depth - 1);
  const values = new Float32Array(pixels * keep);
  for (let p = 0; p < pixels; p++)
    for (let c = 0; c < keep; c++) values[p * keep + c] = (data[p * channels + c] ?? 0) * scale;
  return { fileName, width: png.width, height: png.height, bitDepth: depth, channels: keep, values };
}
