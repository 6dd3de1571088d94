import * as tf from '@tensorflow/tfjs';
import { createModel } from '@fedward/models';
import { dpSgdEpsilon } from '@fedward/privacy';
import type { ModelSpec } from '@fedward/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoImages } from '../src/demo-images';
import { dpSgdPatientEpsilon, hospitalUpdate } from '../src/hospital';
import { paramsFromWeights, simulateLocalUpdate } from '../src/simulate';
import { counterRandom } from './seeded-words';

const size = 12;
const spec: ModelSpec = { kind: 'small-cnn', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function globalWeights() {
  const engine = createModel(spec);
  const w = engine.getWeights();
  engine.dispose();
  return w;
}

/** max |a − b| over every tensor, and max |b|. */
function gap(a: readonly ArrayLike<number>[], b: readonly ArrayLike<number>[]): { err: number; scale: number } {
  let err = 0;
  let scale = 0;
  b.forEach((t, i) => {
    for (let k = 0; k < t.length; k++) {
      err = Math.max(err, Math.abs(a[i]![k]! - t[k]!));
      scale = Math.max(scale, Math.abs(t[k]!));
    }
  });
  return { err, scale };
}

describe('the demo hospital', () => {
  it("sends the update the attacker's simulation of plain SGD predicts", async () => {
    const global = globalWeights();
    const { x, labels } = demoImages(2, size);
    const delta = await hospitalUpdate({ spec, global, x, labels, localSteps: 2, learningRate: 0.05 });
    const params = paramsFromWeights(global);
    const simulated = tf.tidy(() =>
      simulateLocalUpdate(params, tf.tensor4d(x, [2, size, size, 1]), labels, { learningRate: 0.05, steps: 2, weightDecay: 1e-6, normalization: 'zscore' }, 2).map((t) => t.dataSync() as Float32Array),
    );
    tf.dispose(params);
    const { err, scale } = gap(delta, simulated);
    expect(scale).toBeGreaterThan(1e-4);
    expect(err).toBeLessThan(1e-3 * scale);
  });

  it('under DP-SGD without noise and with a clip above every gradient, trains like plain SGD (up to the grid); with σ = 1 it does not', async () => {
    const global = globalWeights();
    const { x, labels } = demoImages(2, size);
    const plain = await hospitalUpdate({ spec, global, x, labels, localSteps: 2, learningRate: 0.05 });
    const loose = await hospitalUpdate({ spec, global, x, labels, localSteps: 2, learningRate: 0.05, dpSgd: { noiseMultiplier: 0, clip: 100, random: counterRandom(1) } });
    const noised = await hospitalUpdate({ spec, global, x, labels, localSteps: 2, learningRate: 0.05, dpSgd: { noiseMultiplier: 1, clip: 1, random: counterRandom(2) } });
    const a = gap(loose, plain);
    expect(a.err).toBeLessThan(0.02 * a.scale);
    const b = gap(noised, plain);
    expect(b.err).toBeGreaterThan(0.5 * b.scale);
  });

  it('draws other demo hospitals for secure aggregation: hospital-a is the same slice set whatever their number', () => {
    const a = demoImages(2, size, 1, 0);
    const b = demoImages(2, size, 1, 1);
    expect(Array.from(a.labels)).toEqual(Array.from(b.labels));
    expect(a.x.some((v, i) => v !== b.x[i])).toBe(true);
  });
});

describe('the per-patient ε of the DP-SGD defence', () => {
  it("is the local accountant's (Poisson, q = 1) for the local steps", () => {
    const want = dpSgdEpsilon({ runs: [{ samplingProbability: 1, steps: 4 }], noiseMultiplier: 1, delta: 1e-5, sampling: 'poisson' }).epsilon;
    expect(dpSgdPatientEpsilon(1, 4, 1e-5)).toBe(want);
    expect(dpSgdPatientEpsilon(1, 1, 1e-5)).toBeLessThan(want);
    expect(dpSgdPatientEpsilon(3, 4, 1e-5)).toBeLessThan(want);
  });
});
