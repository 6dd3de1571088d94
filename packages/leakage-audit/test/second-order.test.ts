import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { registerSecondOrderGradients } from '../src/second-order';
import { logSumExp } from '../src/simulate';

/**
 * Each registered gradient, checked through the way the attack uses it (the gradient of a function
 * of a first-order gradient), against central finite differences. TF.js computes in float32, so
 * the differences are taken in directions (one scalar each) at a step where truncation and
 * rounding both stay near 1e-4 relative; a wrong or missing term is off by O(1).
 */

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

function seeded(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** ∇f(x)·v from autodiff and from (f(x + hv) − f(x − hv))/2h. */
function directional(f: (x: tf.Tensor) => tf.Scalar, x: tf.Tensor, v: tf.Tensor, h: number): { auto: number; fd: number } {
  return tf.tidy(() => {
    const auto = tf.sum(tf.mul(tf.grad(f)(x), v)).dataSync()[0]!;
    const up = f(tf.add(x, tf.mul(h, v))).dataSync()[0]!;
    const down = f(tf.sub(x, tf.mul(h, v))).dataSync()[0]!;
    return { auto, fd: (up - down) / (2 * h) };
  });
}

function expectClose(r: { auto: number; fd: number }, rtol: number): void {
  expect(Number.isFinite(r.auto)).toBe(true);
  expect(Math.abs(r.auto - r.fd)).toBeLessThanOrEqual(rtol * Math.max(1e-3, Math.abs(r.fd)));
}

describe('second-order gradients', () => {
  it('TF.js lacks them without the registration (what this module exists for)', () => {
    // Already registered in beforeAll; the kernels named are the ones the attack needs.
    for (const name of ['Conv2DBackpropFilter', 'MaxPoolGrad', 'Equal']) expect(tf.getGradient(name)).toBeDefined();
  });

  for (const [pad, stride] of [['same', 1], ['valid', 2]] as const) {
    it(`Conv2DBackpropFilter: ∂/∂x and ∂/∂dy of ‖∂L/∂W‖² match finite differences (pad ${pad}, stride ${stride})`, () => {
      const w = seeded([3, 3, 2, 3], 1) as tf.Tensor4D;
      const target = seeded([2, 7, 7, 3], 2);
      // L(W) = ½‖conv(x, W) − t‖² has ∂L/∂W = Conv2DBackpropFilter(x, conv(x, W) − t): its square
      // depends on x through both of that kernel's inputs.
      const f = (x: tf.Tensor) => {
        const gw = tf.grad((ww: tf.Tensor) => {
          const y = tf.conv2d(x as tf.Tensor4D, ww as tf.Tensor4D, stride, pad);
          const t = tf.slice(target, [0, 0, 0, 0], y.shape);
          return tf.mul(0.5, tf.sum(tf.square(tf.sub(y, t))));
        })(w);
        return tf.sum(tf.square(gw)) as tf.Scalar;
      };
      const x = seeded([2, 7, 7, 2], 3);
      for (let d = 0; d < 3; d++) expectClose(directional(f, x, seeded([2, 7, 7, 2], 10 + d), 1e-2), 2e-3);
    });
  }

  it('Conv2DBackpropFilter: the bilinear gradients are exact on each input separately', () => {
    const x = seeded([1, 5, 5, 2], 4) as tf.Tensor4D;
    const dy = seeded([1, 5, 5, 3], 5) as tf.Tensor4D;
    const g = seeded([3, 3, 2, 3], 6);
    const run = (xx: tf.Tensor, dd: tf.Tensor) =>
      tf.sum(tf.mul(g, tf.engine().runKernel('Conv2DBackpropFilter', { x: xx, dy: dd }, { strides: [1, 1], pad: 'same', dataFormat: 'NHWC', filterShape: [3, 3, 2, 3] }) as tf.Tensor)) as tf.Scalar;
    expectClose(directional((xx) => run(xx, dy), x, seeded(x.shape, 7), 0.5), 1e-4);
    expectClose(directional((dd) => run(x, dd), dy, seeded(dy.shape, 8), 0.5), 1e-4);
  });

  it('MaxPoolGrad: ∂/∂x of ‖∂L/∂a‖² through a 2×2 max pool matches finite differences', () => {
    const x = seeded([2, 6, 6, 3], 9);
    const t = seeded([2, 3, 3, 3], 11);
    // ∂/∂a of ½‖maxpool(a·x) − t‖² routes (maxpool(a·x) − t) through MaxPoolGrad: its dy depends on x.
    const f = (xx: tf.Tensor) => {
      const ga = tf.grad((a: tf.Tensor) => tf.mul(0.5, tf.sum(tf.square(tf.sub(tf.maxPool(tf.mul(xx, a) as tf.Tensor4D, 2, 2, 'valid'), t)))))(tf.scalar(1.3));
      return tf.sum(tf.square(ga)) as tf.Scalar;
    };
    for (let d = 0; d < 3; d++) expectClose(directional(f, x, seeded(x.shape, 20 + d), 1e-3), 2e-3);
  });

  it('Equal (behind Max): ∂/∂x of a gradient through a global max and our log-sum-exp', () => {
    const x = seeded([3, 4, 4, 2], 12);
    const f = (xx: tf.Tensor) => {
      const g = tf.grad((a: tf.Tensor) => tf.sum(logSumExp(tf.max(tf.mul(xx, a), [1, 2]) as tf.Tensor2D)))(tf.scalar(0.7));
      return tf.mul(g, g) as tf.Scalar;
    };
    for (let d = 0; d < 3; d++) expectClose(directional(f, x, seeded(x.shape, 30 + d), 1e-3), 2e-3);
  });

  it("TF.js's own logSumExp has a wrong second derivative (Exp's gradient uses its saved output): why ours exists", () => {
    const x = seeded([3, 8], 14);
    const second = (lse: (t: tf.Tensor2D) => tf.Tensor) => (xx: tf.Tensor) => {
      const g = tf.grad((a: tf.Tensor) => tf.sum(lse(tf.mul(xx, a) as tf.Tensor2D)))(tf.scalar(0.7));
      return tf.mul(g, g) as tf.Scalar;
    };
    const v = seeded(x.shape, 15);
    const ours = directional(second(logSumExp), x, v, 1e-3);
    const theirs = directional(second((t) => tf.logSumExp(t, 1, true)), x, v, 1e-3);
    expectClose(ours, 2e-3);
    expect(Math.abs(theirs.auto - theirs.fd)).toBeGreaterThan(0.1 * Math.abs(theirs.fd));
  });

  it('refuses overlapping max-pool windows rather than return a wrong gradient', () => {
    const x = seeded([1, 6, 6, 1], 13);
    const f = (xx: tf.Tensor) => tf.sum(tf.square(tf.grad((a: tf.Tensor) => tf.sum(tf.square(tf.maxPool(tf.mul(xx, a) as tf.Tensor4D, 3, 1, 'valid'))))(tf.scalar(1))));
    expect(() => tf.grad(f)(x)).toThrow(/non-overlapping/);
  });
});
