/**
 * One slice file to what the slice store keeps of it: the steps import applies to every file,
 * here so that a slice that is never imported (the hospital app's "Try the model") goes through
 * exactly the same ones.
 */
import { decodeDicom, type DecodedSlice } from './dicom/decode';
import { decodePng, isPng, type DecodedPng } from './png';
import { dicomToUnit, pngToUnit, resizeSquare, type WindowChoice } from './preprocess';

/** The window import applies to DICOM values unless told otherwise: the file's own, else min..max. */
export const DEFAULT_WINDOW: WindowChoice = 'file';

/** A decoded PNG as stored: grey in [0, 1], letterboxed and resized to size × size. */
export function pngSquare(png: DecodedPng, size: number): Float32Array {
  return resizeSquare(pngToUnit(png), size);
}

/** A decoded DICOM slice as stored: windowed to [0, 1] (MONOCHROME1 inverted), letterboxed and resized. */
export function dicomSquare(slice: DecodedSlice, size: number, window: WindowChoice = DEFAULT_WINDOW): Float32Array {
  return resizeSquare(dicomToUnit(slice, window), size);
}

/**
 * A PNG or DICOM file, told apart by its bytes (a DICOM file may have any name, or none), as
 * import would store it. Rejects with a DataError naming the file, the problem and the fix.
 */
export async function readSliceFile(bytes: Uint8Array, fileName: string, size: number, window: WindowChoice = DEFAULT_WINDOW): Promise<Float32Array> {
  if (isPng(bytes)) return pngSquare(decodePng(bytes, fileName), size);
  return dicomSquare(await decodeDicom(bytes, fileName), size, window);
}
