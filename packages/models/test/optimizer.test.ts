import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import {
  MemoryDataset,
  activateBackend,
  createModel,
  decodeOptimizerState,
  encodeOptimizerState,
  mergeOptimizerStates,
  seededRandom,
  type EpochResult,
  type ModelEngine,
  type OptimizerState,
  type TrainEpochOptions,
} from '../src';
import { AdamOptimizer } from '../src/adam';

const spec: ModelSpec = { kind: 'small-cnn', inputSize: 8, channels: 1, numClasses: 2, seed: 3 };

function toyData(n: number, seed: number): MemoryDataset {
  const rand = seededRandom(seed);
  return new MemoryDataset(
    Array.from({ length: n }, (_, i) => ({ x: Float32Array.from({ length: 64 }, () => rand() + (i % 2) * 0.5), label: i % 2 })),
  );
}

async function train(model: ModelEngine, data: MemoryDataset, options: TrainEpochOptions): Promise<EpochResult> {
  const gen = model.trainEpoch(data, options);
  for (;;) {
    const r = await gen.next();
    if (r.done) return r.value;
  }
}

const maxDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  expect(a.length).toBe(b.length);
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i]! - b[i]!));
  return d;
};

beforeAll(async () => {
  await activateBackend(['cpu']);
});

describe('Adam / AMSGrad', () => {
  it('follows torch.optim.Adam(amsgrad=True) step by step, vmax included (float64 reference)', () => {
    const theta0 = [0.5, -1.2, 3];
    const theta = tf.variable(tf.tensor1d(theta0), true, 'adam-test-theta');
    const opt = new AdamOptimizer([{ name: 'theta', variable: theta }]);
    // Large then small gradients: v falls, so AMSGrad's vmax differs from v from step 2 on.
    const grads = [[1, -2, 0.5], [0.01, 0.3, -0.02], [-0.5, 0.001, 0.2]];
    const lrs = [0.1, 0.05, 0.05];
    const ref = { theta: [...theta0], m: [0, 0, 0], v: [0, 0, 0], vmax: [0, 0, 0] };
    grads.forEach((g, k) => {
      tf.tidy(() => opt.apply(new Map([['theta', tf.tensor1d(g)]]), lrs[k]!, true));
      const t = k + 1;
      for (let i = 0; i < 3; i++) {
        ref.m[i] = 0.9 * ref.m[i]! + 0.1 * g[i]!;
        ref.v[i] = 0.999 * ref.v[i]! + 0.001 * g[i]! * g[i]!;
        ref.vmax[i] = Math.max(ref.vmax[i]!, ref.v[i]!);
        const denom = Math.sqrt(ref.vmax[i]!) / Math.sqrt(1 - 0.999 ** t) + 1e-8;
        ref.theta[i] = ref.theta[i]! - (lrs[k]! / (1 - 0.9 ** t)) * (ref.m[i]! / denom);
      }
      expect(maxDiff(theta.dataSync(), ref.theta)).toBeLessThan(1e-6);
    });
    const state = opt.getState()!;
    expect(state.step).toBe(3);
    expect(maxDiff(state.slots[0]!.m, ref.m)).toBeLessThan(1e-7);
    expect(maxDiff(state.slots[0]!.vmax!, ref.vmax)).toBeLessThan(1e-7);
    expect(state.slots[0]!.vmax![1]).not.toBeCloseTo(state.slots[0]!.v[1]!, 6);
    opt.dispose();
    theta.dispose();
  });

  it('one engine step matches the hand-computed AMSGrad step from the state it reports', async () => {
    const model = createModel(spec);
    expect(model.getOptimizerState()).toBeNull();
    const w0 = model.getWeights();
    const lr = 0.01;
    const r = await train(model, toyData(4, 1), { epoch: 1, batchSize: 4, learningRate: lr });
    expect(r.steps).toBe(1);
    const state = model.getOptimizerState()!;
    expect(state.step).toBe(1);
    expect(state.amsgrad).toBe(true);
    expect(state.slots.map((s) => s.name)).toEqual(w0.map((w) => w.name));
    const w1 = model.getWeights();
    w0.forEach((w, k) => {
      const { m, v, vmax } = state.slots[k]!;
      const expected = Array.from(w.values, (x, i) => {
        const g = m[i]! / 0.1; // after one step m = (1 − β1)·g
        expect(Math.abs(v[i]! - 0.001 * g * g)).toBeLessThanOrEqual(1e-6 * 0.001 * g * g);
        expect(vmax![i]).toBe(v[i]);
        return x - (lr / 0.1) * (m[i]! / (Math.sqrt(v[i]!) / Math.sqrt(0.001) + 1e-8));
      });
      expect(maxDiff(w1[k]!.values, expected)).toBeLessThan(1e-6);
    });
    model.dispose();
  });

  it('state survives get → set into a fresh engine: training continues identically', async () => {
    const data = toyData(8, 2);
    const a = createModel(spec);
    await train(a, data, { epoch: 1, batchSize: 4, learningRate: 0.01, shuffleSeed: 1 });
    const b = createModel({ ...spec, seed: 77 });
    b.setWeights(a.getWeights());
    b.setOptimizerState(decodeOptimizerState(encodeOptimizerState(a.getOptimizerState()!)));
    // A different rate for the next epoch keeps the state (step goes on from 2).
    const ra = await train(a, data, { epoch: 2, batchSize: 4, learningRate: 0.003, shuffleSeed: 2 });
    const rb = await train(b, data, { epoch: 2, batchSize: 4, learningRate: 0.003, shuffleSeed: 2 });
    expect(ra.steps).toBe(2);
    expect(rb.loss).toBe(ra.loss);
    expect(a.getOptimizerState()!.step).toBe(4);
    expect(b.getOptimizerState()!.step).toBe(4);
    const wa = a.getWeights();
    b.getWeights().forEach((w, k) => expect(maxDiff(w.values, wa[k]!.values)).toBe(0));
    // Without the state, the same two steps end elsewhere.
    const c = createModel(spec);
    c.setWeights(b.getWeights());
    c.setOptimizerState(null);
    expect(c.getOptimizerState()).toBeNull();
    [a, b, c].forEach((m) => m.dispose());
  });

  it("plain Adam keeps no vmax; switching to AMSGrad starts vmax at zero (torch's init)", async () => {
    const model = createModel(spec);
    await train(model, toyData(4, 3), { epoch: 1, batchSize: 4, learningRate: 0.01, optimizer: 'adam' });
    const adam = model.getOptimizerState()!;
    expect(adam.amsgrad).toBe(false);
    expect(adam.slots[0]!.vmax).toBeUndefined();
    await train(model, toyData(4, 3), { epoch: 2, batchSize: 4, learningRate: 0.01 });
    const ams = model.getOptimizerState()!;
    expect(ams.amsgrad).toBe(true);
    expect(ams.step).toBe(2);
    expect(Array.from(ams.slots[0]!.vmax!)).toEqual(Array.from(ams.slots[0]!.v));
    model.dispose();
  });

  it('rejects a state for another model', async () => {
    const model = createModel(spec);
    await train(model, toyData(4, 4), { epoch: 1, batchSize: 4, learningRate: 0.01 });
    const state = model.getOptimizerState()!;
    const renamed = { ...state, slots: state.slots.map((s, i) => (i === 2 ? { ...s, name: 'nope/kernel' } : s)) };
    expect(() => model.setOptimizerState(renamed)).toThrow(/lacks tensor "conv2\/kernel"/);
    const short = { ...state, slots: state.slots.map((s, i) => (i === 1 ? { ...s, m: s.m.subarray(1), v: s.v.subarray(1), vmax: s.vmax!.subarray(1) } : s)) };
    expect(() => model.setOptimizerState(short)).toThrow(/"conv1\/bias" has 7 values, the tensor has 8/);
    expect(() => model.setOptimizerState({ ...state, slots: state.slots.slice(1) })).toThrow(/6 tensors.*5/);
    model.dispose();
  });
});

describe('optimizer state helpers', () => {
  const state = (step: number, base: number, amsgrad = true): OptimizerState => ({
    step,
    amsgrad,
    slots: [
      { name: 'a/kernel', m: Float32Array.of(base, 2 * base), v: Float32Array.of(1, base), ...(amsgrad && { vmax: Float32Array.of(3, base) }) },
      { name: 'a/bias', m: Float32Array.of(base), v: Float32Array.of(0.5), ...(amsgrad && { vmax: Float32Array.of(base * 10) }) },
    ],
  });

  it('merges as the seed does on a re-split: element-wise mean of m, v, vmax, step of the last', () => {
    const merged = mergeOptimizerStates([state(10, 1), state(12, 2), state(7, 6)]);
    expect(merged.step).toBe(7);
    expect(merged.amsgrad).toBe(true);
    expect(merged.slots.map((s) => s.name)).toEqual(['a/kernel', 'a/bias']);
    expect(Array.from(merged.slots[0]!.m)).toEqual([3, 6]);
    expect(Array.from(merged.slots[0]!.v)).toEqual([1, 3]);
    expect(Array.from(merged.slots[0]!.vmax!)).toEqual([3, 3]);
    expect(Array.from(merged.slots[1]!.vmax!)).toEqual([30]);
    const single = mergeOptimizerStates([state(4, 2, false)]);
    expect(single.slots[0]!.vmax).toBeUndefined();
    expect(Array.from(single.slots[0]!.m)).toEqual([2, 4]);
  });

  it('refuses to merge states of different models', () => {
    const other = state(1, 1);
    other.slots[1]!.name = 'b/bias';
    expect(() => mergeOptimizerStates([other, state(1, 1)])).toThrow(/"b\/bias", expected "a\/bias"/);
    const longer = state(1, 1);
    longer.slots[0] = { ...longer.slots[0]!, m: new Float32Array(3), v: new Float32Array(3), vmax: new Float32Array(3) };
    expect(() => mergeOptimizerStates([longer, state(1, 1)])).toThrow(/"a\/kernel": 3 values, expected 2/);
    expect(() => mergeOptimizerStates([state(1, 1, false), state(1, 1)])).toThrow(/amsgrad/);
    expect(() => mergeOptimizerStates([])).toThrow(/at least one/);
  });

  it('encodes to a compact binary and back, bit for bit', () => {
    for (const s of [state(5, 0.25), state(9, -1.5, false)]) {
      const bytes = encodeOptimizerState(s);
      expect(bytes.length).toBeLessThan(200);
      // An unaligned copy, as IndexedDB or a Buffer slice might hand it back.
      const shifted = new Uint8Array(bytes.length + 1);
      shifted.set(bytes, 1);
      const back = decodeOptimizerState(shifted.subarray(1));
      expect(back.step).toBe(s.step);
      expect(back.amsgrad).toBe(s.amsgrad);
      expect(back.slots.map((x) => x.name)).toEqual(s.slots.map((x) => x.name));
      back.slots.forEach((x, i) => {
        expect(Array.from(x.m)).toEqual(Array.from(s.slots[i]!.m));
        expect(Array.from(x.v)).toEqual(Array.from(s.slots[i]!.v));
        expect(x.vmax && Array.from(x.vmax)).toEqual(s.slots[i]!.vmax && Array.from(s.slots[i]!.vmax!));
      });
    }
    expect(() => decodeOptimizerState(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]))).toThrow(/magic/);
    expect(() => decodeOptimizerState(encodeOptimizerState(state(1, 1)).subarray(0, 60))).toThrow(/does not fit|value bytes/);
  });
});
