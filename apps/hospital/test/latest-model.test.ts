import 'fake-indexeddb/auto';
import { describe, expect, it } from 'vitest';
import { decodeWeights, encodeWeights, type NamedTensor } from '@fedward/protocol';
import { loadLatestModel, saveLatestModel, type LatestModel } from '../src/api/latest-model';

const weights: NamedTensor[] = [
  { name: 'conv1/kernel', shape: [2, 2], values: Float32Array.from([0.5, -1, 2, 0.25]) },
  { name: 'conv1/bias', shape: [1], values: Float32Array.from([0.125]) },
];

const model = (round: number): LatestModel => ({
  study: 'demo',
  studyName: 'Demo federation',
  round,
  spec: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1 },
  classes: ['lesion', 'normal'],
  batchSize: 16,
  personalized: false,
  accuracy: 0.8,
  weights: encodeWeights(weights),
  receivedAt: 1_700_000_000_000 + round,
});

describe('the model kept for "Try the model"', () => {
  it('is none before the hospital took part in a round', async () => {
    expect(await loadLatestModel()).toBeNull();
  });

  it('survives a reload (a fresh read) with its weights intact, and the latest round replaces the one before', async () => {
    await saveLatestModel(model(1));
    await saveLatestModel(model(2));
    const kept = await loadLatestModel();
    expect(kept).toMatchObject({ study: 'demo', round: 2, classes: ['lesion', 'normal'], batchSize: 16 });
    expect(decodeWeights(kept!.weights)).toEqual(weights);
  });
});
