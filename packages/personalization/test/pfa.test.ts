import { describe, expect, it } from 'vitest';
import {
  averageLowFrequencyAmplitude,
  defaultTensorRole,
  gatherMatrix,
  lowFrequencyWindow,
  pfaMatrixView,
  pfaTransformTensor,
  progressiveFourierAggregate,
  progressiveThreshold,
  scatterMatrix,
  type NamedTensor,
} from '../src/index';
import {
  CONV_FIXTURE_CLIENT0,
  convFixtureInput,
  FIXTURE_CLIENTS,
  FIXTURE_THRESHOLD,
  LINEAR_FIXTURE_OUTPUT,
  linearFixtureInput,
} from './fixtures';
import { randomArray, seededRandom } from './random';

const clientsOf = <T>(make: (k: number) => T) => Array.from({ length: FIXTURE_CLIENTS }, (_, k) => make(k));

/** PyTorch (out, in) → TF.js dense kernel (in, out). */
function torchLinearToTfjs(w: ArrayLike<number>, out: number, inp: number): Float32Array {
  const t = new Float32Array(out * inp);
  for (let o = 0; o < out; o++) for (let i = 0; i < inp; i++) t[i * out + o] = w[o * inp + i]!;
  return t;
}

/** PyTorch (N, C, kh, kw) → TF.js conv kernel (kh, kw, C, N). */
function torchConvToTfjs(w: ArrayLike<number>, [n, c, kh, kw]: number[]): Float32Array {
  const t = new Float32Array(n! * c! * kh! * kw!);
  for (let o = 0; o < n!; o++)
    for (let i = 0; i < c!; i++)
      for (let a = 0; a < kh!; a++)
        for (let b = 0; b < kw!; b++) t[((a * kw! + b) * c! + i) * n! + o] = w[((o * c! + i) * kh! + a) * kw! + b]!;
  return t;
}

function worst(actual: (i: number) => number, expected: number[][]): number {
  return Math.max(...expected.flat().map((v, i) => Math.abs(actual(i) - v)));
}

describe('progressive threshold (spec 2.4, server.py L90)', () => {
  it.each([
    [0, 0.7],
    [10, 0.75],
    [25, 0.825],
    [49, 0.945],
  ])('L_%i = %f with l_rate 0.7 over 50 rounds', (round, expected) => {
    expect(progressiveThreshold(0.7, round, 50)).toBeCloseTo(expected, 12);
  });

  it('rejects rounds outside the schedule', () => {
    expect(() => progressiveThreshold(0.7, 51, 50)).toThrow(RangeError);
    expect(() => progressiveThreshold(0.7, 1.5, 50)).toThrow(RangeError);
    expect(() => progressiveThreshold(1.2, 0, 50)).toThrow(RangeError);
  });
});

describe('low-frequency window and PyTorch matrix layout (spec 2.4 point 6)', () => {
  it.each([
    ['conv1', 'torch-conv', [32, 3, 3, 3], [9, 96], [1, 7], [15, 81]],
    ['conv 256→256', 'torch-conv', [256, 256, 3, 3], [768, 768], [116, 652], [116, 652]],
    ['fc1', 'torch-linear', [64, 256], [64, 256], [10, 54], [39, 217]],
    ['fc2', 'torch-linear', [3, 64], [3, 64], [0, 2], [10, 54]],
  ] as const)('%s %s %j → matrix %j, rows %j, cols %j at L = 0.7', (_, layout, shape, size, rowRange, colRange) => {
    const view = pfaMatrixView(layout, shape);
    expect([view.rows, view.cols]).toEqual(size);
    const w = lowFrequencyWindow(view.rows, view.cols, 0.7);
    expect([w.rowStart, w.rowEnd]).toEqual(rowRange);
    expect([w.colStart, w.colEnd]).toEqual(colRange);
  });

  it('the same TF.js layers map to the same matrices', () => {
    expect(pfaMatrixView('tfjs-conv', [3, 3, 3, 32])).toMatchObject({ rows: 9, cols: 96 });
    expect(pfaMatrixView('tfjs-dense', [256, 64])).toMatchObject({ rows: 64, cols: 256 });
  });

  it('gathers a TF.js conv kernel into exactly the matrix the seed builds from the PyTorch weight', () => {
    const shape = [4, 3, 2, 5]; // N, C, kh, kw: all different so a swapped axis cannot go unnoticed
    const torch = randomArray(120, seededRandom(3));
    const fromTorch = gatherMatrix(torch, pfaMatrixView('torch-conv', shape));
    const fromTfjs = gatherMatrix(torchConvToTfjs(torch, shape), pfaMatrixView('tfjs-conv', [2, 5, 3, 4]));
    expect(Array.from(fromTfjs)).toEqual(Array.from(fromTorch, Math.fround));
    // Seed: permute(1,2,3,0).reshape(C·kh, kw·N): element (n, c, a, b) sits at row c·kh + a, column b·N + n.
    const [n, c, a, b] = [3, 2, 1, 4];
    expect(fromTorch[(c * 2 + a) * (5 * 4) + b * 4 + n]).toBe(torch[((n * 3 + c) * 2 + a) * 5 + b]);
  });

  it('scatter undoes gather for every layout', () => {
    const rand = seededRandom(5);
    for (const [layout, shape] of [
      ['tfjs-conv', [3, 2, 4, 5]],
      ['tfjs-dense', [6, 7]],
      ['torch-conv', [5, 4, 3, 2]],
      ['torch-linear', [7, 6]],
    ] as const) {
      const values = Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), rand));
      const view = pfaMatrixView(layout, shape);
      expect(scatterMatrix(gatherMatrix(values, view), view)).toEqual(values);
    }
  });

  it('rejects shapes of the wrong rank', () => {
    expect(() => pfaMatrixView('tfjs-conv', [3, 3, 8])).toThrow(RangeError);
    expect(() => pfaMatrixView('torch-linear', [3, 0])).toThrow(RangeError);
  });
});

describe('PFA on the spec fixtures (4 clients, L = 0.7, divisor 4)', () => {
  it('reproduces the fixture input row', () => {
    expect(Array.from(linearFixtureInput(0).subarray(0, 4))).toEqual(
      [0.841471, 0.745705, -0.44252, -0.982453].map((v) => expect.closeTo(v, 6)),
    );
  });

  it('linear, PyTorch layout: clients 0 and 3 within 1e-5', () => {
    const out = pfaTransformTensor('torch-linear', [3, 4], clientsOf(linearFixtureInput), FIXTURE_THRESHOLD, 4);
    for (const [k, expected] of Object.entries(LINEAR_FIXTURE_OUTPUT)) {
      expect(worst((i) => out[Number(k)]![i]!, expected)).toBeLessThan(1e-5);
    }
  });

  it('linear, as TF.js dense kernels through progressiveFourierAggregate', () => {
    const clients = clientsOf((k): NamedTensor[] => [
      { name: 'dense/kernel', shape: [4, 3], values: torchLinearToTfjs(linearFixtureInput(k), 3, 4) },
    ]);
    // Round 0 of any schedule with l_rate 0.7 gives L = 0.7; the default divisor is K = 4 here.
    const out = progressiveFourierAggregate(clients, { lRate: 0.7, round: 0, rounds: 50 });
    for (const [k, expected] of Object.entries(LINEAR_FIXTURE_OUTPUT)) {
      const t = out[Number(k)]![0]!;
      expect(t.shape).toEqual([4, 3]);
      // Fixture is [out][in]; TF.js stores [in][out].
      expect(worst((i) => t.values[(i % 4) * 3 + Math.floor(i / 4)]!, expected)).toBeLessThan(1e-5);
    }
  });

  it('conv, PyTorch layout and TF.js layout: client 0 kernels within 1e-5', () => {
    const shape = [2, 2, 3, 3];
    const torchOut = pfaTransformTensor('torch-conv', shape, clientsOf(convFixtureInput), FIXTURE_THRESHOLD, 4)[0]!;
    const tfjsClients = clientsOf((k): NamedTensor[] => [
      { name: 'conv2d_1/kernel', shape: [3, 3, 2, 2], values: torchConvToTfjs(convFixtureInput(k), shape) },
    ]);
    const seedOpts = { lRate: 0.7, round: 0, rounds: 50, divisor: 'seed' } as const;
    const tfjsOut = progressiveFourierAggregate(tfjsClients, seedOpts)[0]![0]!;
    for (const { n, c, kernel } of CONV_FIXTURE_CLIENT0) {
      expect(worst((i) => torchOut[((n * 2 + c) * 3 + Math.floor(i / 3)) * 3 + (i % 3)]!, kernel)).toBeLessThan(1e-5);
      expect(
        worst((i) => tfjsOut.values[((Math.floor(i / 3) * 3 + (i % 3)) * 2 + c) * 2 + n]!, kernel),
      ).toBeLessThan(1e-5);
    }
  });
});

describe('PFA properties', () => {
  const rand = seededRandom(17);
  const make = (k: number, n: number) => Array.from({ length: k }, () => randomArray(n, rand));

  it('returns a different result per client (only the low-frequency amplitude is shared)', () => {
    const out = averageLowFrequencyAmplitude(make(3, 6 * 10), 6, 10, 0.7, 3);
    expect(out[0]).not.toEqual(out[1]);
  });

  it('leaves every client unchanged when the window is empty', () => {
    const clients = make(3, 5 * 8);
    const out = averageLowFrequencyAmplitude(clients, 5, 8, 0.1, 3); // floor(5·0.1/2) = floor(8·0.1/2) = 0
    out.forEach((m, k) => m.forEach((v, i) => expect(v).toBeCloseTo(clients[k]![i]!, 12)));
  });

  it('with divisor K, identical clients come back unchanged; the seed divisor 4 scales them when K ≠ 4', () => {
    const x = randomArray(8 * 8, rand);
    const same = [x, x, x];
    for (const m of averageLowFrequencyAmplitude(same, 8, 8, 0.9, 3)) {
      m.forEach((v, i) => expect(v).toBeCloseTo(x[i]!, 12));
    }
    const seed = averageLowFrequencyAmplitude(same, 8, 8, 0.9, 4)[0]!;
    expect(Math.max(...seed.map((v, i) => Math.abs(v - x[i]!)))).toBeGreaterThan(1e-3);
  });

  it('matches the amplitude definition: inside the window |F| is the mean of the clients', () => {
    // A direct check of the spectrum of one output against the clients' spectra at the zero frequency,
    // which lies inside every non-empty window: |F_k'(0,0)| = mean_k |F_k(0,0)| = mean |Σ x_k|.
    const clients = make(4, 6 * 6);
    const out = averageLowFrequencyAmplitude(clients, 6, 6, 0.7, 4);
    const dc = (m: Float64Array) => m.reduce((a, b) => a + b, 0);
    const meanAbsDc = clients.reduce((a, m) => a + Math.abs(dc(m)), 0) / 4;
    out.forEach((m, k) => {
      expect(Math.abs(dc(m))).toBeCloseTo(meanAbsDc, 10);
      expect(Math.sign(dc(m))).toBe(Math.sign(dc(clients[k]!))); // own phase kept
    });
  });
});

describe('progressiveFourierAggregate on TF.js weight lists', () => {
  const rand = seededRandom(23);
  const tensor = (name: string, shape: number[]): NamedTensor => ({
    name,
    shape,
    values: Float32Array.from(randomArray(shape.reduce((a, b) => a * b, 1), rand)),
  });
  const model = (suffix: string): NamedTensor[] => [
    tensor(`conv2d${suffix}/kernel`, [3, 3, 2, 4]),
    tensor(`conv2d${suffix}/bias`, [4]),
    tensor(`batch_normalization${suffix}/gamma`, [4]),
    tensor(`batch_normalization${suffix}/moving_mean`, [4]),
    tensor(`dense${suffix}/kernel`, [4, 3]),
    tensor(`dense${suffix}/bias`, [3]),
  ];
  // Names differ between hospitals, as TF.js uniquifies them per page.
  const clients = [model(''), model('_1'), model('_7')];
  const opts = { lRate: 0.7, round: 10, rounds: 50 };

  it('applies PFA to kernels, keeps normalisation local and averages the rest', () => {
    const out = progressiveFourierAggregate(clients, opts);
    const L = progressiveThreshold(0.7, 10, 50);
    expect(out.map((list) => list.map((t) => t.name))).toEqual(clients.map((list) => list.map((t) => t.name)));
    const conv = pfaTransformTensor('tfjs-conv', [3, 3, 2, 4], clients.map((c) => c[0]!.values), L, 3);
    const dense = pfaTransformTensor('tfjs-dense', [4, 3], clients.map((c) => c[4]!.values), L, 3);
    out.forEach((list, k) => {
      expect(list[0]!.values).toEqual(conv[k]);
      expect(list[4]!.values).toEqual(dense[k]);
      for (const i of [2, 3]) {
        expect(list[i]!.values).toEqual(clients[k]![i]!.values);
        expect(list[i]!.values).not.toBe(clients[k]![i]!.values);
      }
      for (const i of [1, 5]) {
        const sum = (j: number) => clients.reduce((s, c) => s + c[i]!.values[j]!, 0);
        list[i]!.values.forEach((v, j) => expect(v).toBeCloseTo(sum(j) / 3, 6));
      }
    });
  });

  it('follows a custom role classifier (all "other" is FedAvg)', () => {
    const out = progressiveFourierAggregate(clients, { ...opts, roleOf: () => 'other' });
    expect(out[0]![0]!.values).toEqual(out[2]![0]!.values);
    expect(out[0]![0]!.values).not.toEqual(clients[0]![0]!.values);
  });

  it('rejects mismatched federations with a message naming the tensor', () => {
    const transposedDense = [...model('_1').slice(0, 4), tensor('dense_1/kernel', [3, 4]), tensor('dense_1/bias', [3])];
    const wrongShape = [model(''), transposedDense];
    expect(() => progressiveFourierAggregate(wrongShape, opts)).toThrow(/tensor 4 \(dense\/kernel\).*client 1/);
    expect(() => progressiveFourierAggregate([model(''), model('').slice(1)], opts)).toThrow(/client 1 has 5 tensors/);
    expect(() => progressiveFourierAggregate([], opts)).toThrow(RangeError);
    expect(() => progressiveFourierAggregate(clients, { ...opts, divisor: 0 })).toThrow(RangeError);
  });
});

describe('default tensor roles', () => {
  it.each([
    ['conv2d_1/kernel', [3, 3, 3, 32], 'conv'],
    ['conv2d/kernel_1', [3, 3, 3, 32], 'conv'],
    ['sequential_2/conv2d_3/kernel', [3, 3, 32, 32], 'conv'],
    ['dense/kernel', [256, 64], 'dense'],
    ['fc1/kernel_3', [256, 64], 'dense'],
    ['dense/bias', [64], 'other'],
    ['conv2d_1/bias', [32], 'other'],
    ['depthwise_conv2d/depthwise_kernel', [3, 3, 8, 1], 'other'],
    ['batch_normalization/gamma', [32], 'norm'],
    ['batch_normalization_4/beta', [32], 'norm'],
    ['batch_normalization/moving_mean_1', [32], 'norm'],
    ['bn1/moving_variance', [32], 'norm'],
    ['layer_normalization/gamma', [32], 'norm'],
  ])('%s %j → %s', (name, shape, role) => {
    expect(defaultTensorRole({ name, shape })).toBe(role);
  });
});
