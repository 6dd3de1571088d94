/**
 * Padding arithmetic for the backward passes of a convolution, one spatial
 * axis at a time.
 *
 * Forward: out[y] = Σ_a in[y·stride + a·dilation − padBefore] · w[a],
 * with `outSize` outputs over an input of `inSize` and a filter of `filterSize`.
 */
export interface AxisGeometry {
  inSize: number;
  outSize: number;
  filterSize: number;
  stride: number;
  dilation: number;
  padBefore: number;
}

/**
 * Input padding for the filter gradient
 * dw[a] = Σ_y in[a·dilation + y·stride − padBefore] · dy[y]:
 * the padded input must hold exactly the rows the forward pass read. The
 * trailing value is negative when the forward pass never read the last input
 * rows (e.g. 'valid', stride 2, even size): those rows must be cropped.
 */
export function filterGradAxis(g: AxisGeometry): [number, number] {
  const dyExtent = (g.outSize - 1) * g.stride + 1;
  const needed = (g.filterSize - 1) * g.dilation + dyExtent;
  return [g.padBefore, needed - g.padBefore - g.inSize];
}

/**
 * Input gradient as a stride-1 convolution of dy, dilated by `stride` (zeros
 * inserted), with the filter rotated by 180°:
 * dx[i] = Σ_a dyDilated[i + padBefore − a·dilation] · w[a].
 * Returns the padding (negative = crop) of the dilated dy whose length is
 * `(outSize − 1)·stride + 1 + trailing`.
 */
export function inputGradAxis(g: AxisGeometry, trailing: number): [number, number] {
  const extent = (g.filterSize - 1) * g.dilation;
  const dilatedLength = (g.outSize - 1) * g.stride + 1 + trailing;
  const before = extent - g.padBefore;
  const after = g.inSize - dilatedLength - before + extent;
  return [before, after];
}
