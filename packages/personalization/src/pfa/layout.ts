/**
 * Where each weight lands in the 2-D matrix that PFA transforms (spec 2.4 point 3).
 *
 * The seed permutes a PyTorch conv weight (out N, in C, kh D1, kw D2) to (C, D1, D2, N) and reshapes it
 * to (C·D1, D2·N): rows index (in-channel, kh), columns index (kw, out-channel). A PyTorch linear weight
 * (out, in) is used as is. TF.js stores the same parameters as conv [kh, kw, in, out] and dense [in, out],
 * so those are gathered into the very same matrix: the spectrum, and hence the result, depends on it.
 */
export type PfaLayout = 'torch-conv' | 'torch-linear' | 'tfjs-conv' | 'tfjs-dense';

export interface PfaMatrixView {
  rows: number;
  cols: number;
  /** matrix[m] = values[sourceIndex[m]] for the flat row-major matrix index m. */
  sourceIndex: Uint32Array;
}

function checkShape(layout: PfaLayout, shape: readonly number[], rank: number): void {
  if (shape.length !== rank || !shape.every((d) => Number.isInteger(d) && d >= 1)) {
    throw new RangeError(`${layout} needs a rank-${rank} shape of positive integers, got [${shape.join(', ')}]`);
  }
}

export function pfaMatrixView(layout: PfaLayout, shape: readonly number[]): PfaMatrixView {
  if (layout === 'torch-conv' || layout === 'tfjs-conv') {
    checkShape(layout, shape, 4);
    const [s0, s1, s2, s3] = shape as [number, number, number, number];
    const [n, c, kh, kw] = layout === 'torch-conv' ? [s0, s1, s2, s3] : [s3, s2, s0, s1];
    const rows = c * kh;
    const cols = kw * n;
    const sourceIndex = new Uint32Array(rows * cols);
    for (let ci = 0; ci < c; ci++) {
      for (let a = 0; a < kh; a++) {
        for (let b = 0; b < kw; b++) {
          for (let o = 0; o < n; o++) {
            const m = (ci * kh + a) * cols + b * n + o;
            sourceIndex[m] =
              layout === 'torch-conv' ? ((o * c + ci) * kh + a) * kw + b : ((a * kw + b) * c + ci) * n + o;
          }
        }
      }
    }
    return { rows, cols, sourceIndex };
  }
  checkShape(layout, shape, 2);
  const [s0, s1] = shape as [number, number];
  // The matrix is (out, in) in both cases; TF.js keeps the transpose.
  const [out, inp] = layout === 'torch-linear' ? [s0, s1] : [s1, s0];
  const sourceIndex = new Uint32Array(out * inp);
  for (let o = 0; o < out; o++) {
    for (let i = 0; i < inp; i++) sourceIndex[o * inp + i] = layout === 'torch-linear' ? o * inp + i : i * out + o;
  }
  return { rows: out, cols: inp, sourceIndex };
}

/** Gathers the weights into the PFA matrix, widening to float64 as numpy's FFT does. */
export function gatherMatrix(values: ArrayLike<number>, view: PfaMatrixView): Float64Array {
  if (values.length !== view.sourceIndex.length) {
    throw new RangeError(`expected ${view.sourceIndex.length} values, got ${values.length}`);
  }
  const matrix = new Float64Array(view.sourceIndex.length);
  for (let m = 0; m < matrix.length; m++) matrix[m] = values[view.sourceIndex[m]!]!;
  return matrix;
}

/** Puts a PFA matrix back into the tensor's own layout, narrowing to float32 like the seed's FloatTensor. */
export function scatterMatrix(matrix: Float64Array, view: PfaMatrixView): Float32Array {
  const values = new Float32Array(view.sourceIndex.length);
  for (let m = 0; m < matrix.length; m++) values[view.sourceIndex[m]!] = matrix[m]!;
  return values;
}
