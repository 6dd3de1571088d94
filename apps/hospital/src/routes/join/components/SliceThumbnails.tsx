import { useEffect, useRef } from 'react';
import type { SampleSlice } from '@fedward/data';

/** Draws one stored slice (16-bit grey) into a canvas: no URL, nothing leaves the page. */
function Thumbnail({ sample, index }: { sample: SampleSlice; index: number }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    if (!context) return;
    const image = context.createImageData(sample.size, sample.size);
    const rgba = image.data;
    sample.pixels.forEach((v, i) => {
      const grey = v >> 8;
      rgba[i * 4] = rgba[i * 4 + 1] = rgba[i * 4 + 2] = grey;
      rgba[i * 4 + 3] = 255;
    });
    context.putImageData(image, 0, 0);
  }, [sample]);
  return (
    <figure className="thumbnail">
      <canvas
        ref={canvas}
        width={sample.size}
        height={sample.size}
        role="img"
        aria-label={`Stored slice ${index + 1}, label ${sample.label}`}
        data-testid="thumbnail"
        data-label={sample.label}
      />
      <figcaption>{sample.label}</figcaption>
    </figure>
  );
}

/**
 * A few stored slices as the model will see them (windowed and resized), a few of every label:
 * a folder of the wrong images, or labels swapped, shows at a glance.
 */
export function SliceThumbnails({ samples }: { samples: SampleSlice[] }) {
  if (samples.length === 0) return null;
  return (
    <div className="thumbnails" data-testid="thumbnails">
      <p className="muted">A sample of the stored slices, as the model sees them:</p>
      <div className="thumbnail-row">
        {samples.map((s, i) => (
          <Thumbnail key={i} sample={s} index={i} />
        ))}
      </div>
    </div>
  );
}
