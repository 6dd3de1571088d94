/** Spec 2.4 test vectors (computed by the spec authors with a numpy port of the seed's avg_freq, L = 0.7). */

/** Linear: W_i[j, k] = sin((i+1) + 0.7j + 1.3k), PyTorch shape (out 3, in 4). */
export function linearFixtureInput(client: number): Float64Array {
  const out = new Float64Array(12);
  for (let j = 0; j < 3; j++) for (let k = 0; k < 4; k++) out[j * 4 + k] = Math.sin(client + 1 + 0.7 * j + 1.3 * k);
  return out;
}

export const LINEAR_FIXTURE_OUTPUT: Record<number, number[][]> = {
  0: [
    [0.782691, 0.708893, -0.451818, -1.013717],
    [0.958227, 0.114035, -0.923467, -0.64492],
    [0.641824, -0.556011, -0.947927, 0.020346],
  ],
  3: [
    [-0.658519, -0.763045, 0.335121, 1.051582],
    [-0.938692, -0.224297, 0.876185, 0.766258],
    [-0.711989, 0.462131, 0.989259, 0.127849],
  ],
};

/** Conv: W_i[n, c, a, b] = cos(0.3(i+1) + 0.5n + 0.9c + 0.2a − 0.4b), PyTorch shape (2, 2, 3, 3). */
export function convFixtureInput(client: number): Float64Array {
  const out = new Float64Array(36);
  for (let n = 0; n < 2; n++)
    for (let c = 0; c < 2; c++)
      for (let a = 0; a < 3; a++)
        for (let b = 0; b < 3; b++)
          out[((n * 2 + c) * 3 + a) * 3 + b] = Math.cos(0.3 * (client + 1) + 0.5 * n + 0.9 * c + 0.2 * a - 0.4 * b);
  return out;
}

/** Client 0's output kernels [kh][kw] at (n, c) = (0, 0) and (1, 1). */
export const CONV_FIXTURE_CLIENT0: { n: number; c: number; kernel: number[][] }[] = [
  {
    n: 0,
    c: 0,
    kernel: [
      [0.657558, 0.729516, 0.760204],
      [0.618603, 0.768861, 0.894012],
      [0.4933, 0.704025, 0.828123],
    ],
  },
  {
    n: 1,
    c: 1,
    kernel: [
      [-0.458702, -0.013525, 0.361528],
      [-0.689598, -0.291945, 0.09826],
      [-0.884989, -0.462833, -0.055665],
    ],
  },
];

export const FIXTURE_CLIENTS = 4;
export const FIXTURE_THRESHOLD = 0.7;
