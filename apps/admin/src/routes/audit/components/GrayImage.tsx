import { useEffect, useRef } from 'react';
import { grayscaleRgba } from '../audit-report';

/** Side of a downloaded PNG per pixel of the slice (the CLI's 4× nearest-neighbour enlargement). */
const PNG_SCALE = 4;

/** A size × size slice of [0, 1] values on a canvas at its own resolution. */
function paint(canvas: HTMLCanvasElement, values: ArrayLike<number>, size: number): void {
  canvas.width = size;
  canvas.height = size;
  canvas.getContext('2d')?.putImageData(new ImageData(grayscaleRgba(values), size, size), 0, 0);
}

/** The slice as a PNG, enlarged without smoothing so every pixel stays a square. */
export async function grayPng(values: ArrayLike<number>, size: number): Promise<Blob> {
  const small = document.createElement('canvas');
  paint(small, values, size);
  const big = document.createElement('canvas');
  big.width = big.height = size * PNG_SCALE;
  const ctx = big.getContext('2d');
  if (!ctx) throw new Error('this browser cannot draw images');
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(small, 0, 0, big.width, big.height);
  return new Promise((ok, fail) => big.toBlob((blob) => (blob ? ok(blob) : fail(new Error('the image could not be encoded'))), 'image/png'));
}

/** One slice, shown enlarged with square pixels; `label` says what it is to a screen reader. */
export function GrayImage({ values, size, label, testId }: { values: Float32Array; size: number; label: string; testId: string }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (ref.current) paint(ref.current, values, size);
  }, [values, size]);
  return <canvas ref={ref} className="slice" role="img" aria-label={label} data-testid={testId} />;
}
