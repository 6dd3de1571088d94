import { beforeAll, describe, expect, it } from 'vitest';
import type { ModelSpec } from '@fedward/protocol';
import { createModel, activateBackend } from '../src';
import { squareData } from './fixtures';

const spec: ModelSpec = { kind: 'small-cnn', inputSize: 16, channels: 1, numClasses: 2, seed: 7 };

beforeAll(async () => {
  await activateBackend(['cpu']);
});

describe('small CNN engine', () => {
  it('builds the same initial weights from the same seed, with stable names', () => {
    const a = createModel(spec);
    const b = createModel(spec);
    const wa = a.getWeights();
    const wb = b.getWeights();
    expect(wa.map((w) => w.name)).toEqual([
      'conv1/kernel', 'conv1/bias', 'conv2/kernel', 'conv2/bias', 'logits/kernel', 'logits/bias',
    ]);
    expect(Array.from(wa[0]!.values)).toEqual(Array.from(wb[0]!.values));
    const c = createModel({ ...spec, seed: 8 });
    expect(Array.from(c.getWeights()[0]!.values)).not.toEqual(Array.from(wa[0]!.values));
    [a, b, c].forEach((m) => m.dispose());
  });

  it('set then get returns the same weights, and rejects a wrong tensor list', () => {
    const a = createModel(spec);
    const b = createModel({ ...spec, seed: 99 });
    b.setWeights(a.getWeights());
    expect(Array.from(b.getWeights()[4]!.values)).toEqual(Array.from(a.getWeights()[4]!.values));
    expect(() => b.setWeights(a.getWeights().slice(1))).toThrow(/tensors/);
    a.dispose();
    b.dispose();
  });

  it('learns a toy task: per-batch progress, falling loss, accuracy well above chance', async () => {
    const model = createModel(spec);
    const train = squareData(128, 1, spec.inputSize);
    const test = squareData(64, 2, spec.inputSize);
    const before = await model.evaluate(test);
    const progress: number[] = [];
    let last = { loss: Infinity };
    for (let epoch = 1; epoch <= 6; epoch++) {
      const gen = model.trainEpoch(train, { epoch, batchSize: 16, learningRate: 0.01, shuffleSeed: epoch });
      for (;;) {
        const step = await gen.next();
        if (step.done) {
          last = step.value;
          break;
        }
        progress.push(step.value.batch);
      }
    }
    expect(progress.slice(0, 8)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    const after = await model.evaluate(test);
    expect(after.loss).toBeLessThan(before.loss);
    expect(last.loss).toBeLessThan(0.5);
    expect(after.accuracy).toBeGreaterThan(0.8);
    model.dispose();
  }, 60_000);
});
