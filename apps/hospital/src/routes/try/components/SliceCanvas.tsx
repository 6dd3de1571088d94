import { useEffect, useRef } from 'react';

/** Foreground pixels are tinted red, half opaque, so the slice stays readable under the mask. */
const TINT = [220, 30, 30] as const;
const TINT_ALPHA = 0.5;

/**
 * A slice as stored (size × size, 16-bit grey) drawn into a canvas, with a model's mask over it
 * when given (pixels whose foreground probability is ≥ 0.5). No image URL: nothing leaves the page.
 */
export function SliceCanvas({ pixels, size, mask, label, testId }: { pixels: Uint16Array; size: number; mask?: Float32Array; label?: string; testId?: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    const image = context.createImageData(size, size);
    const rgba = image.data;
    pixels.forEach((v, i) => {
      const grey = v >> 8;
      const tint = (mask?.[i] ?? 0) >= 0.5 ? TINT_ALPHA : 0;
      for (let c = 0; c < 3; c++) rgba[i * 4 + c] = Math.round(grey * (1 - tint) + TINT[c]! * tint);
      rgba[i * 4 + 3] = 255;
    });
    context.putImageData(image, 0, 0);
  }, [pixels, size, mask]);
  // Without a label it only illustrates text next to it, and assistive technology skips it.
  const meaning = label ? { role: 'img', 'aria-label': label } : { 'aria-hidden': true };
  return <canvas ref={canvas} width={size} height={size} {...meaning} data-testid={testId} />;
}
