import * as tf from '@tensorflow/tfjs';
import type { GradConfig, NamedAttrMap, Tensor, Tensor4D } from '@tensorflow/tfjs';

/**
 * Second-order gradients for the attack (issue 18, choice (a)).
 *
 * The attack differentiates a simulated local training (S SGD steps, each a forward and a backward
 * pass of the small CNN) with respect to the images. TF.js 4.22 can take the gradient of a
 * gradient only where every kernel on the backward path has a gradient of its own; three do not:
 * `Conv2DBackpropFilter` (∂loss/∂kernel of a conv), `MaxPoolGrad` (the max-pool backward) and
 * `Equal` (used by the backward of the `Max` reduction behind global max pooling and logSumExp).
 * We register them here, exactly, rather than use the first-order finite-difference objective
 * (choice (b), breaching's `PearlmutterEuclidean`): the exact gradient costs one backward pass
 * through the unrolled training, has no step size to tune, and keeps the seed's cosine objective
 * and signed Adam as they are; the finite-difference objective would be a different objective
 * with a bias that depends on its step. Each registration is tested against central finite
 * differences (test/second-order.test.ts).
 *
 * - Conv2DBackpropFilter(x, dy) = dW is bilinear: dW[kh,kw,ci,co] = Σ_{n,i,j} x[n, i·s+kh−p, j·s+kw−p, ci]·dy[n,i,j,co].
 *   With G = ∂L/∂dW: ∂L/∂x = conv2dTranspose(dy, G) (Conv2DBackpropInput), ∂L/∂dy = conv2d(x, G).
 * - MaxPoolGrad(dy, input, output) routes each window's dy to its argmax: linear in dy, piecewise
 *   constant in input/output (zero gradient there). Its adjoint gathers G at each window's argmax:
 *   with mask = MaxPoolGrad(1, input, output) (1 at every argmax, the same choice of argmax as the
 *   forward's backward), ∂L/∂dy = windowSum(G·mask). Exact for non-overlapping windows (stride =
 *   pool size, valid padding: every pooling layer of the product's small CNN); others throw.
 * - Equal: boolean-valued, gradient zero (almost everywhere).
 */

function conv2dBackpropFilterGrad(): GradConfig {
  return {
    kernelName: 'Conv2DBackpropFilter',
    inputsToSave: ['x', 'dy'],
    gradFunc: (g: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const ddw = g as Tensor4D;
      const [x, dy] = saved as [Tensor4D, Tensor4D];
      const { strides, pad, dataFormat, dimRoundingMode } = attrs as unknown as {
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
        dataFormat: 'NHWC' | 'NCHW';
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      if (dataFormat !== 'NHWC') throw new Error(`second-order Conv2DBackpropFilter: only NHWC (got ${dataFormat})`);
      return {
        x: () => tf.conv2dTranspose(dy, ddw, x.shape, strides, pad, dimRoundingMode),
        dy: () => tf.conv2d(x, ddw, strides, pad, 'NHWC', 1, dimRoundingMode),
      };
    },
  };
}

function maxPoolGradGrad(): GradConfig {
  return {
    kernelName: 'MaxPoolGrad',
    inputsToSave: ['dy', 'input', 'output'],
    gradFunc: (g: Tensor | Tensor[], saved: Tensor[], attrs: NamedAttrMap) => {
      const ddx = g as Tensor4D;
      const [dy, input, output] = saved as [Tensor4D, Tensor4D, Tensor4D];
      const { filterSize, strides, pad } = attrs as unknown as {
        filterSize: [number, number] | number;
        strides: [number, number] | number;
        pad: 'valid' | 'same' | number;
      };
      const [fh, fw] = typeof filterSize === 'number' ? [filterSize, filterSize] : filterSize;
      const [sh, sw] = typeof strides === 'number' ? [strides, strides] : strides;
      if (fh !== sh || fw !== sw || !(pad === 'valid' || pad === 0)) {
        throw new Error(`second-order MaxPoolGrad: only non-overlapping windows (stride = pool size, valid padding); got pool ${fh}×${fw}, stride ${sh}×${sw}, pad ${String(pad)}`);
      }
      return {
        dy: () => {
          const mask = tf.engine().runKernel('MaxPoolGrad', { dy: tf.onesLike(dy), input, output }, attrs) as Tensor4D;
          return tf.mul(tf.avgPool(tf.mul(ddx, mask) as Tensor4D, [fh, fw], [sh, sw], 'valid'), fh * fw);
        },
        input: () => tf.zerosLike(input),
        output: () => tf.zerosLike(output),
      };
    },
  };
}

function equalGrad(): GradConfig {
  return {
    kernelName: 'Equal',
    inputsToSave: ['a', 'b'],
    gradFunc: (_g: Tensor | Tensor[], saved: Tensor[]) => {
      const [a, b] = saved as [Tensor, Tensor];
      return { a: () => tf.zerosLike(a).toFloat(), b: () => tf.zerosLike(b).toFloat() };
    },
  };
}

/** The kernels whose gradient this module supplies when TF.js has none. */
export const SECOND_ORDER_KERNELS = ['Conv2DBackpropFilter', 'MaxPoolGrad', 'Equal'] as const;

/**
 * Registers the missing gradients (idempotent; a gradient TF.js or someone else already has is
 * left alone). Global to the TF.js instance: call before the attack differentiates a training step.
 */
export function registerSecondOrderGradients(): void {
  for (const config of [conv2dBackpropFilterGrad(), maxPoolGradGrad(), equalGrad()]) {
    if (tf.getGradient(config.kernelName) === undefined) tf.registerGradient(config);
  }
}
