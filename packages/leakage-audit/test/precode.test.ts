import * as tf from '@tensorflow/tfjs';
import { createModel } from '@fedward/models';
import type { ModelSpec } from '@fedward/protocol';
import { beforeAll, describe, expect, it } from 'vitest';
import { demoImages } from '../src/demo-images';
import { hospitalUpdate } from '../src/hospital';
import { attackObjective } from '../src/invert';
import { matchingLoss } from '../src/objective';
import { registerSecondOrderGradients } from '../src/second-order';
import { paramsFromWeights, type LocalTraining } from '../src/simulate';
import { seededDraws, vbSimulation, type AttackerNoise } from '../src/simulate-vb';

/**
 * The precode defence end to end at the level the CLI wires it: the hospital's real update of
 * small-cnn-vb (ModelEngine.trainEpoch, ε from the CSPRNG unless seeded here) against the
 * attacker's simulate-vb, through the attack's objective.
 */
const size = 12;
const spec: ModelSpec = { kind: 'small-cnn-vb', inputSize: size, channels: 1, numClasses: 2, seed: 42, normalization: 'zscore' };
const training: LocalTraining = { learningRate: 0.05, steps: 2, weightDecay: 1e-6, normalization: 'zscore' };

beforeAll(async () => {
  await tf.setBackend('cpu');
  registerSecondOrderGradients();
});

function globalWeights(s: ModelSpec = spec) {
  const engine = createModel(s);
  const w = engine.getWeights();
  engine.dispose();
  return w;
}

const { x, labels } = demoImages(1, size);
const shape: [number, number, number, number] = [1, size, size, 1];

function hospital(vbNoise?: ReturnType<typeof seededDraws>) {
  return hospitalUpdate({ spec, global: globalWeights(), x, labels, localSteps: training.steps, learningRate: training.learningRate, ...(vbNoise && { vbNoise }) });
}

/** 1 − cos between the attacker's simulated update at the TRUE images and `delta`. */
function mismatch(delta: Float32Array[], noise: AttackerNoise): number {
  const global = globalWeights();
  return tf.tidy(() => {
    const params = paramsFromWeights(global);
    const observed = delta.map((d, i) => tf.tensor(d, global[i]!.shape));
    return matchingLoss(vbSimulation(spec, noise)(params, tf.tensor4d(x, shape), labels, training), observed).dataSync()[0]!;
  });
}

describe('the precode defence', () => {
  it("the hospital's update is reproduced by the simulation given its ε, and missed by the 'mean' attacker and by other draws", async () => {
    const delta = await hospital(seededDraws(9));
    expect(Math.max(...delta.map((d) => Math.max(...Array.from(d, Math.abs))))).toBeGreaterThan(1e-4);
    expect(mismatch(delta, { draws: seededDraws(9) })).toBeLessThan(1e-5);
    expect(mismatch(delta, 'mean')).toBeGreaterThan(1e-2);
    expect(mismatch(delta, { draws: seededDraws(10) })).toBeGreaterThan(1e-2);
  });

  it("on the product's path (no vbNoise) draws fresh ε from the CSPRNG: the same images give another update each time", async () => {
    const a = await hospital();
    const b = await hospital();
    expect(a.some((t, i) => t.some((v, k) => v !== b[i]![k]))).toBe(true);
    await expect(hospitalUpdate({ spec: { ...spec, kind: 'small-cnn' }, global: globalWeights({ ...spec, kind: 'small-cnn' }), x, labels, localSteps: 1, learningRate: 0.01, vbNoise: seededDraws(1) })).rejects.toThrow(
      /vbNoise/,
    );
  });

  it("the attack's objective takes the VB simulation: 0 at the truth against its own Δ, not against the hospital's", async () => {
    const global = globalWeights();
    const delta = await hospital();
    const simulate = vbSimulation(spec, 'mean');
    const [own, theirs] = tf.tidy(() => {
      const params = paramsFromWeights(global);
      const truth = tf.tensor4d(x, shape);
      const ownDelta = simulate(params, truth, labels, training);
      const hospitalDelta = delta.map((d, i) => tf.tensor(d, global[i]!.shape));
      const o = { params, labels, numClasses: 2, training, simulate };
      return [attackObjective(truth, { ...o, observed: ownDelta }, 0).dataSync()[0]!, attackObjective(truth, { ...o, observed: hospitalDelta }, 0).dataSync()[0]!];
    });
    expect(own).toBeLessThan(1e-5);
    expect(theirs).toBeGreaterThan(1e-2);
  });
});
