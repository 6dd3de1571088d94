import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { setWinogradConvolutions } from '../src/kernels/conv2d_winograd';
import { describeModes, expectClose, initWasm, kernelModes, onBackend, randomData } from './backends';

type Explicit = [[number, number], [number, number], [number, number], [number, number]];
type Pad = 'same' | 'valid' | number | Explicit;

/** Kernel attributes; optional ones may be undefined, as tfjs's own ops pass them. */
const attrs = (a: object): tf.NamedAttrMap => a as tf.NamedAttrMap;
interface ConvCase {
  name: string;
  x: [number, number, number, number];
  filter: [number, number, number, number];
  strides: [number, number];
  pad: Pad;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
}

const convCases: ConvCase[] = [
  { name: '3×3 stride 1 valid', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'valid' },
  { name: '3×3 stride 1 same', x: [2, 8, 7, 2], filter: [3, 3, 2, 5], strides: [1, 1], pad: 'same' },
  { name: '3×3 stride 2 same, odd size', x: [2, 9, 9, 3], filter: [3, 3, 3, 4], strides: [2, 2], pad: 'same' },
  { name: '3×3 stride 2 same, even size', x: [1, 10, 8, 2], filter: [3, 3, 2, 3], strides: [2, 2], pad: 'same' },
  { name: '3×3 stride 2 valid, unread last row', x: [2, 10, 10, 2], filter: [3, 3, 2, 3], strides: [2, 2], pad: 'valid' },
  { name: '2×3 filter, strides 1×2, same', x: [2, 7, 9, 3], filter: [2, 3, 3, 2], strides: [1, 2], pad: 'same' },
  { name: '1×1 stride 2 valid', x: [3, 6, 6, 4], filter: [1, 1, 4, 3], strides: [2, 2], pad: 'valid' },
  { name: '7×7 stride 2 same (DenseNet stem)', x: [2, 16, 16, 3], filter: [7, 7, 3, 4], strides: [2, 2], pad: 'same' },
  { name: '2×2 stride 2 valid (U-Net up-conv)', x: [2, 8, 8, 4], filter: [2, 2, 4, 3], strides: [2, 2], pad: 'valid' },
  { name: 'explicit padding', x: [2, 7, 7, 2], filter: [3, 3, 2, 3], strides: [1, 1], pad: [[0, 0], [1, 2], [0, 1], [0, 0]] },
  { name: 'numeric pad 1, stride 2, ceil', x: [1, 8, 8, 2], filter: [3, 3, 2, 2], strides: [2, 2], pad: 1, dimRoundingMode: 'ceil' },
  { name: 'single input channel (first layer)', x: [4, 12, 12, 1], filter: [3, 3, 1, 8], strides: [1, 1], pad: 'valid' },
  { name: 'single input channel, same', x: [2, 9, 10, 1], filter: [3, 3, 1, 16], strides: [1, 1], pad: 'same' },
  // Channel counts off the kernels' 4- and 8-wide tiles, and wider than a tile of rows.
  { name: '5 → 13 channels, 3×3 stride 1 same', x: [2, 11, 13, 5], filter: [3, 3, 5, 13], strides: [1, 1], pad: 'same' },
  { name: '16 → 32 channels (the reference CNN\'s second layer)', x: [2, 15, 15, 16], filter: [3, 3, 16, 32], strides: [1, 1], pad: 'valid' },
  { name: '6 → 10 channels, 5×5 stride 2 same', x: [2, 13, 12, 6], filter: [5, 5, 6, 10], strides: [2, 2], pad: 'same' },
  { name: '3×3 on a 2×2 image, same (every tap at a border)', x: [2, 2, 2, 3], filter: [3, 3, 3, 4], strides: [1, 1], pad: 'same' },
  // Winograd F(4×4, 3×3) (3×3 stride 1, ≥ 8 channels by fours): sizes that leave a last tile
  // partly outside, more tiles than a block (16 forward, 32 for the filter gradient), padding of
  // 0–2 before, tiny images.
  { name: '8 → 16 channels, 3×3 stride 1 same, odd size (Winograd)', x: [3, 9, 11, 8], filter: [3, 3, 8, 16], strides: [1, 1], pad: 'same' },
  { name: '16 → 8 channels, 3×3 stride 1 valid, 21×18 (Winograd, two blocks)', x: [2, 21, 18, 16], filter: [3, 3, 16, 8], strides: [1, 1], pad: 'valid' },
  { name: '16 → 16 channels, explicit padding 2 before (Winograd)', x: [2, 7, 8, 16], filter: [3, 3, 16, 16], strides: [1, 1], pad: [[0, 0], [2, 0], [0, 2], [0, 0]] },
  { name: '12 → 12 channels on a 1×1 image, same (Winograd)', x: [2, 1, 1, 12], filter: [3, 3, 12, 12], strides: [1, 1], pad: 'same' },
  { name: '32 → 64 channels, 3×3 stride 1 same, 26×27 (Winograd, 49 tiles)', x: [1, 26, 27, 32], filter: [3, 3, 32, 64], strides: [1, 1], pad: 'same' },
];

function outShape(c: ConvCase): [number, number, number, number] {
  const info = tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, 1, c.pad, c.dimRoundingMode);
  return info.outShape;
}

beforeAll(initWasm);

describeModes('Conv2D on wasm matches cpu', (mode) => {
  const dilated: Array<ConvCase & { dilations: [number, number] }> = [
    { name: '3×3 dilation 2 same', x: [2, 11, 10, 3], filter: [3, 3, 3, 5], strides: [1, 1], pad: 'same', dilations: [2, 2] },
    { name: '3×2 dilation 2×3 valid', x: [2, 12, 13, 4], filter: [3, 2, 4, 9], strides: [1, 1], pad: 'valid', dilations: [2, 3] },
  ];
  // tfjs-backend-wasm's own Conv2D (what the JS-fallback mode runs) leaves part of the output
  // unwritten with numeric padding and 'ceil' rounding, so that mode is not checked on that case
  // (no Fedward model uses it; the package's own kernel, in the other modes, is).
  const cases = [...convCases.map((k) => ({ ...k, dilations: [1, 1] as [number, number] })), ...dilated]
    .filter((c) => !(mode === 'off' && c.dimRoundingMode === 'ceil'));
  for (const c of cases) {
    it(c.name, async () => {
      const xData = randomData(c.x.reduce((a, b) => a * b), 21);
      const wData = randomData(c.filter.reduce((a, b) => a * b), 22);
      const run = () => tf.engine().runKernel('Conv2D',
        { x: tf.tensor4d(xData, c.x), filter: tf.tensor4d(wData, c.filter) },
        attrs({ strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dilations: c.dilations, dimRoundingMode: c.dimRoundingMode }),
      ) as tf.Tensor;
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!);
    });
  }
});

describeModes('FusedConv2D on wasm matches cpu (native without bias or activation, XNNPACK with)', (mode) => {
  // XNNPACK (the JS-fallback mode, and any bias or activation) leaves part of the output unwritten
  // with numeric padding and 'ceil' rounding, as for Conv2D above: not checked there.
  for (const c of convCases) {
    for (const fused of ['plain', 'bias + relu'] as const) {
      if (c.dimRoundingMode === 'ceil' && (mode === 'off' || fused !== 'plain')) continue;
      it(`${c.name}, ${fused}`, async () => {
        const xData = randomData(c.x.reduce((a, b) => a * b), 23);
        const wData = randomData(c.filter.reduce((a, b) => a * b), 24);
        const bData = randomData(c.filter[3], 25);
        // tf.fused.conv2d outside a gradient tape: one FusedConv2D kernel (the layers' forward pass).
        const run = () => tf.fused.conv2d({
          x: tf.tensor4d(xData, c.x), filter: tf.tensor4d(wData, c.filter), strides: c.strides, pad: c.pad, dimRoundingMode: c.dimRoundingMode,
          ...(fused === 'bias + relu' && { bias: tf.tensor1d(bData), activation: 'relu' as const }),
        });
        const [expected] = await onBackend('cpu', run);
        const [actual] = await onBackend('wasm', run);
        expectClose(actual!, expected!);
      });
    }
  }
});

describeModes('Conv2DBackpropFilter on wasm matches cpu', () => {
  for (const c of convCases) {
    it(c.name, async () => {
      const dyShape = outShape(c);
      const xData = randomData(c.x.reduce((a, b) => a * b), 1);
      const dyData = randomData(dyShape.reduce((a, b) => a * b), 2);
      const run = () => tf.engine().runKernel('Conv2DBackpropFilter',
        { x: tf.tensor4d(xData, c.x), dy: tf.tensor4d(dyData, dyShape) },
        attrs({ strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode, filterShape: c.filter }),
      ) as tf.Tensor;
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expectClose(actual!, expected!);
    });
  }
});

// Shapes for the direct input-gradient kernel (phases of the stride, one-column dot tiles).
const inputGradCases: ConvCase[] = [
  { name: '7×7 stride 2 same, one input channel (DenseNet stem: dx has 1 channel)', x: [3, 20, 18, 1], filter: [7, 7, 1, 24], strides: [2, 2], pad: 'same' },
  { name: '7×7 stride 2 same, 1 channel, odd size, 5 output channels (k tail)', x: [2, 13, 11, 1], filter: [7, 7, 1, 5], strides: [2, 2], pad: 'same' },
  { name: '3×3 stride 3 valid (stride = kernel: one tap per phase)', x: [2, 11, 10, 3], filter: [3, 3, 3, 5], strides: [3, 3], pad: 'valid' },
  { name: '2×2 stride 3 valid (kernel < stride: phases without taps)', x: [2, 11, 12, 2], filter: [2, 2, 2, 3], strides: [3, 3], pad: 'valid' },
  { name: '4×3 strides 2×3 explicit padding', x: [2, 12, 13, 3], filter: [4, 3, 3, 6], strides: [2, 3], pad: [[0, 0], [2, 1], [0, 2], [0, 0]] },
  { name: '1×1 stride 1, 24 → 48 (DenseNet bottleneck)', x: [2, 5, 7, 48], filter: [1, 1, 48, 24], strides: [1, 1], pad: 'valid' },
  { name: '3×3 stride 1 same, 48 → 12 (DenseNet growth conv)', x: [2, 6, 5, 48], filter: [3, 3, 48, 12], strides: [1, 1], pad: 'same' },
  { name: '5×5 stride 1 same on a 3×3 image (no interior column)', x: [2, 3, 3, 2], filter: [5, 5, 2, 3], strides: [1, 1], pad: 'same' },
  { name: '3×3 stride 2 same, 1 → 3 channels (k shorter than a vector)', x: [2, 9, 9, 1], filter: [3, 3, 1, 3], strides: [2, 2], pad: 'same' },
];

describeModes('Conv2DBackpropInput on wasm matches cpu', () => {
  for (const c of [...convCases, ...inputGradCases]) {
    it(c.name, async () => {
      const dyShape = outShape(c);
      const wData = randomData(c.filter.reduce((a, b) => a * b), 3);
      const dyData = randomData(dyShape.reduce((a, b) => a * b), 4);
      const run = () => tf.engine().runKernel('Conv2DBackpropInput',
        { dy: tf.tensor4d(dyData, dyShape), filter: tf.tensor4d(wData, c.filter) },
        attrs({ strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode, inputShape: c.x }),
      ) as tf.Tensor;
      const [expected] = await onBackend('cpu', run);
      const [actual] = await onBackend('wasm', run);
      expect(actual!.length).toBe(c.x.reduce((a, b) => a * b));
      expectClose(actual!, expected!);
    });
  }
});

describeModes('Winograd F(4×4, 3×3) against the direct kernels', () => {
  // The Winograd kernels sum each output in another order, its terms scaled by up to 5 and 1/24
  // on the way: not the direct kernels' bits (which shows they ran), but within a few float32
  // roundings of the largest output (measured up to 4·10⁻⁶ of it; the bound is 10⁻⁵).
  const cases = convCases.filter((c) => c.name.includes('Winograd') || c.name.includes('second layer'));
  for (const c of cases) {
    for (const kernel of ['Conv2D', 'Conv2DBackpropInput', 'Conv2DBackpropFilter'] as const) {
      it(`${kernel}: ${c.name}`, async () => {
        const dyShape = outShape(c);
        const w = randomData(c.filter.reduce((a, b) => a * b), 31);
        const x = randomData(c.x.reduce((a, b) => a * b), 32);
        const dy = randomData(dyShape.reduce((a, b) => a * b), 33);
        const common = { strides: c.strides, pad: c.pad, dataFormat: 'NHWC', dimRoundingMode: c.dimRoundingMode };
        const run = () => (kernel === 'Conv2D'
          ? tf.engine().runKernel(kernel, { x: tf.tensor4d(x, c.x), filter: tf.tensor4d(w, c.filter) }, attrs({ ...common, dilations: [1, 1] }))
          : kernel === 'Conv2DBackpropInput'
            ? tf.engine().runKernel(kernel, { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, c.filter) }, attrs({ ...common, inputShape: c.x }))
            : tf.engine().runKernel(kernel, { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape) }, attrs({ ...common, filterShape: c.filter }))) as tf.Tensor;
        const [winograd] = await onBackend('wasm', run);
        setWinogradConvolutions(false);
        try {
          const [direct] = await onBackend('wasm', run);
          expectClose(winograd!, direct!, 1e-5);
          // (A filter gradient on a 1×1 image has one term per sum, the same bits either way.)
          if (kernel !== 'Conv2DBackpropFilter' || c.x[1] * c.x[2] > 1) {
            expect(Buffer.from(winograd!.buffer).equals(Buffer.from(direct!.buffer))).toBe(false);
          }
        } finally {
          setWinogradConvolutions(true);
        }
      });
    }
  }
}, [kernelModes[0]!, kernelModes[3]!]);

interface DepthwiseCase extends ConvCase { dilations: [number, number] }

const depthwiseCases: DepthwiseCase[] = [
  { name: '3×3 stride 1 same', x: [2, 8, 8, 3], filter: [3, 3, 3, 1], strides: [1, 1], dilations: [1, 1], pad: 'same' },
  { name: '3×3 stride 1 valid, multiplier 2', x: [2, 7, 9, 2], filter: [3, 3, 2, 2], strides: [1, 1], dilations: [1, 1], pad: 'valid' },
  { name: '3×3 stride 2 same', x: [2, 9, 8, 4], filter: [3, 3, 4, 1], strides: [2, 2], dilations: [1, 1], pad: 'same' },
  { name: '3×3 stride 2 valid, even size, multiplier 3', x: [1, 10, 10, 2], filter: [3, 3, 2, 3], strides: [2, 2], dilations: [1, 1], pad: 'valid' },
  { name: '3×3 dilation 2 same', x: [2, 11, 11, 3], filter: [3, 3, 3, 1], strides: [1, 1], dilations: [2, 2], pad: 'same' },
  { name: '2×3 dilation 2×1 valid', x: [2, 9, 9, 2], filter: [2, 3, 2, 2], strides: [1, 1], dilations: [2, 1], pad: 'valid' },
  { name: '5×5 explicit padding', x: [2, 8, 8, 2], filter: [5, 5, 2, 1], strides: [1, 1], dilations: [1, 1], pad: [[0, 0], [2, 1], [1, 2], [0, 0]] },
];

function depthwiseOutShape(c: DepthwiseCase): [number, number, number, number] {
  return tf.backend_util.computeConv2DInfo(c.x, c.filter, c.strides, c.dilations, c.pad, c.dimRoundingMode, true).outShape;
}

// tfjs-backend-cpu's depthwise backprop kernels ignore dilations (tfjs only
// calls them with dilation 1), so dilated cases are checked through the
// adjoint identity ⟨dy, conv(x, w)⟩ = ⟨dx, x⟩ = ⟨dw, w⟩ against the cpu
// forward convolution, which does honour dilations.
const undilated = depthwiseCases.filter((c) => c.dilations[0] === 1 && c.dilations[1] === 1);

function depthwiseRun(c: DepthwiseCase, kernel: 'filter' | 'input', x: Float32Array, w: Float32Array, dy: Float32Array) {
  const dyShape = depthwiseOutShape(c);
  return () => kernel === 'filter'
    ? tf.engine().runKernel('DepthwiseConv2dNativeBackpropFilter',
      { x: tf.tensor4d(x, c.x), dy: tf.tensor4d(dy, dyShape) },
      attrs({ strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: c.dimRoundingMode, filterShape: c.filter }),
    ) as tf.Tensor
    : tf.engine().runKernel('DepthwiseConv2dNativeBackpropInput',
      { dy: tf.tensor4d(dy, dyShape), filter: tf.tensor4d(w, c.filter) },
      attrs({ strides: c.strides, dilations: c.dilations, pad: c.pad, dimRoundingMode: c.dimRoundingMode, inputShape: c.x }),
    ) as tf.Tensor;
}

function dot(a: Float32Array, b: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]! * b[i]!;
  return s;
}

for (const kernel of ['filter', 'input'] as const) {
  const name = kernel === 'filter' ? 'DepthwiseConv2dNativeBackpropFilter' : 'DepthwiseConv2dNativeBackpropInput';
  describe(`${name} on wasm matches cpu`, () => {
    for (const c of undilated) {
      it(c.name, async () => {
        const x = randomData(c.x.reduce((a, b) => a * b), 5);
        const w = randomData(c.filter.reduce((a, b) => a * b), 6);
        const dy = randomData(depthwiseOutShape(c).reduce((a, b) => a * b), 7);
        const [expected] = await onBackend('cpu', depthwiseRun(c, kernel, x, w, dy));
        const [actual] = await onBackend('wasm', depthwiseRun(c, kernel, x, w, dy));
        expectClose(actual!, expected!);
      });
    }
  });
  describe(`${name} on wasm is the adjoint of the cpu forward pass`, () => {
    for (const c of depthwiseCases) {
      it(c.name, async () => {
        const x = randomData(c.x.reduce((a, b) => a * b), 8);
        const w = randomData(c.filter.reduce((a, b) => a * b), 9);
        const dy = randomData(depthwiseOutShape(c).reduce((a, b) => a * b), 10);
        const [forward] = await onBackend('cpu', () => tf.depthwiseConv2d(
          tf.tensor4d(x, c.x), tf.tensor4d(w, c.filter), c.strides, c.pad, 'NHWC', c.dilations, c.dimRoundingMode));
        const [grad] = await onBackend('wasm', depthwiseRun(c, kernel, x, w, dy));
        const lhs = dot(dy, forward!);
        const rhs = dot(grad!, kernel === 'filter' ? w : x);
        expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * (Math.abs(lhs) + 1));
      });
    }
  });
}
