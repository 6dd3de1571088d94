/** Half-open index ranges [start, end) of the shared low-frequency block in the fftshift-ed spectrum. */
export interface SpectralWindow {
  rowStart: number;
  rowEnd: number;
  colStart: number;
  colEnd: number;
}

/**
 * The centred window of server.py L50–60: half-widths floor(n·L/2) around the centre floor(n/2).
 * It spans 2·b bins and includes c−b but not c+b, so it is one bin off symmetric about the zero frequency.
 */
export function lowFrequencyWindow(rows: number, cols: number, threshold: number): SpectralWindow {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold must be in [0, 1], got ${threshold}`);
  const bh = Math.floor((rows * threshold) / 2);
  const bw = Math.floor((cols * threshold) / 2);
  const ch = Math.floor(rows / 2);
  const cw = Math.floor(cols / 2);
  return { rowStart: ch - bh, rowEnd: ch + bh, colStart: cw - bw, colEnd: cw + bw };
}
