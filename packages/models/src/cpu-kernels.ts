import * as tf from '@tensorflow/tfjs';

/**
 * A faster `Conv2DBackpropFilter` for TF.js's pure-JS `cpu` backend (Node tests, the simulator,
 * the last rung of the backend ladder). tfjs-backend-cpu 4.22 reads every element through
 * `TensorBuffer.get(...indices)`, which made it ~80% of a DenseNet training step. This one walks
 * the flat NHWC arrays, and accumulates every output element in float64 over (batch, row, column)
 * in the same order as the stock kernel, so its results are bit-identical (the tests check that);
 * only the loop nesting moves the channel loops inwards. Channels-first input falls back to the
 * stock kernel. Registration is idempotent and changes nothing for other backends.
 */

interface CpuBackendLike {
  data: { get(dataId: object): { values: ArrayLike<number> } };
  makeTensorInfo(shape: number[], dtype: tf.DataType, values: Float32Array): tf.TensorInfo;
}

let registered = false;
let stockKernel: tf.KernelConfig['kernelFunc'] | null = null;

export function registerFastCpuKernels(): void {
  if (registered) return;
  const stock = tf.getKernel('Conv2DBackpropFilter', 'cpu');
  if (!stock) return; // cpu backend not bundled: nothing to replace
  stockKernel = stock.kernelFunc;
  tf.unregisterKernel('Conv2DBackpropFilter', 'cpu');
  tf.registerKernel({ kernelName: 'Conv2DBackpropFilter', backendName: 'cpu', kernelFunc: conv2DBackpropFilterFast });
  registered = true;
}

/** The stock tfjs-backend-cpu kernel (for the bit-equality test); null before registration. */
export function stockConv2DBackpropFilter(): tf.KernelConfig['kernelFunc'] | null {
  return stockKernel;
}

function conv2DBackpropFilterFast(args: Parameters<tf.KernelConfig['kernelFunc']>[0]): tf.TensorInfo {
  const { inputs, attrs } = args;
  const backend = args.backend as unknown as CpuBackendLike;
  const x = inputs['x']!;
  const dy = inputs['dy']!;
  const a = attrs as unknown as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number | tf.backend_util.ExplicitPadding;
    dataFormat: 'NHWC' | 'NCHW';
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
    filterShape: [number, number, number, number];
  };
  if (a.dataFormat === 'NCHW' || x.dtype !== 'float32' || dy.dtype !== 'float32') {
    return stockKernel!(args) as tf.TensorInfo;
  }
  const info = tf.backend_util.computeConv2DInfo(
    x.shape as [number, number, number, number],
    a.filterShape,
    a.strides,
    1,
    a.pad,
    a.dimRoundingMode,
    false,
    'channelsLast',
  );
  const { strideHeight, strideWidth, filterHeight, filterWidth, inHeight, inWidth, outHeight, outWidth, inChannels, outChannels, batchSize } = info;
  const topPad = info.padInfo.top;
  const leftPad = info.padInfo.left;
  const xv = backend.data.get(x.dataId).values;
  const dyv = backend.data.get(dy.dataId).values;
  const dW = new Float32Array(filterHeight * filterWidth * inChannels * outChannels);
  const acc = new Float64Array(inChannels * outChannels);
  for (let wR = 0; wR < filterHeight; ++wR) {
    const yRMin = Math.max(0, Math.ceil((topPad - wR) / strideHeight));
    const yRMax = Math.min(outHeight, (inHeight + topPad - wR) / strideHeight);
    for (let wC = 0; wC < filterWidth; ++wC) {
      const yCMin = Math.max(0, Math.ceil((leftPad - wC) / strideWidth));
      const yCMax = Math.min(outWidth, (inWidth + leftPad - wC) / strideWidth);
      acc.fill(0);
      for (let b = 0; b < batchSize; ++b) {
        for (let yR = yRMin; yR < yRMax; ++yR) {
          const xR = wR + yR * strideHeight - topPad;
          for (let yC = yCMin; yC < yCMax; ++yC) {
            const xC = wC + yC * strideWidth - leftPad;
            const xBase = ((b * inHeight + xR) * inWidth + xC) * inChannels;
            const dyBase = ((b * outHeight + yR) * outWidth + yC) * outChannels;
            for (let d1 = 0; d1 < inChannels; ++d1) {
              const xVal = xv[xBase + d1]!;
              const row = d1 * outChannels;
              for (let d2 = 0; d2 < outChannels; ++d2) acc[row + d2]! += xVal * dyv[dyBase + d2]!;
            }
          }
        }
      }
      dW.set(acc, (wR * filterWidth + wC) * inChannels * outChannels);
    }
  }
  return backend.makeTensorInfo([filterHeight, filterWidth, inChannels, outChannels], 'float32', dW);
}
