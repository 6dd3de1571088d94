import { describe, expect, it } from 'vitest';
import { DP_SGD_ACCOUNTANT_LABELS, federationConfigSchema, studyPlan, type FederationConfig } from '../src';

const base: FederationConfig = {
  id: 'demo',
  name: 'Demo',
  rounds: 2,
  minClients: 2,
  roundDeadlineMs: 60_000,
  maxUpdateBytes: 1 << 24,
  chunkBytes: 1 << 16,
  model: { kind: 'small-cnn', inputSize: 32, channels: 1, numClasses: 2, seed: 1 },
  training: { epochs: 1, batchSize: 8, learningRate: 0.01 },
};
const dpSgd = { noiseMultiplier: 1, clip: 1, targetEpsilon: 8, delta: 1e-5 };

describe('dpSgd.sampling and dpSgd.reduction', () => {
  it("accepts poisson and uniform sampling, and the optional 'sum' or 'mean' reduction; refuses anything else", () => {
    for (const sampling of ['poisson', 'uniform'] as const) {
      expect(federationConfigSchema.parse({ ...base, dpSgd: { ...dpSgd, sampling } }).dpSgd!.sampling).toBe(sampling);
      for (const reduction of ['sum', 'mean'] as const) {
        expect(federationConfigSchema.parse({ ...base, dpSgd: { ...dpSgd, sampling, reduction } }).dpSgd!.reduction).toBe(reduction);
      }
    }
    expect(federationConfigSchema.parse({ ...base, dpSgd: { ...dpSgd, sampling: 'uniform' } }).dpSgd!.reduction).toBeUndefined();
    expect(federationConfigSchema.safeParse({ ...base, dpSgd: { ...dpSgd, sampling: 'shuffle' } }).success).toBe(false);
    expect(federationConfigSchema.safeParse({ ...base, dpSgd }).success).toBe(false);
    expect(federationConfigSchema.safeParse({ ...base, dpSgd: { ...dpSgd, sampling: 'uniform', reduction: 'median' } }).success).toBe(false);
  });

  it('the study plan shows the sampler (and the mean reduction where chosen); each sampler names its accountant', () => {
    const uniform = studyPlan(federationConfigSchema.parse({ ...base, dpSgd: { ...dpSgd, sampling: 'uniform', reduction: 'mean' } }), 100);
    expect(uniform.dpSgd).toEqual({ ...dpSgd, sampling: 'uniform', reduction: 'mean' });
    const poisson = studyPlan(federationConfigSchema.parse({ ...base, dpSgd: { ...dpSgd, sampling: 'poisson', reduction: 'sum' } }), 100);
    expect(poisson.dpSgd).toEqual({ ...dpSgd, sampling: 'poisson' });
    expect(DP_SGD_ACCOUNTANT_LABELS.poisson).toBe('RDP, Poisson sampling');
    expect(DP_SGD_ACCOUNTANT_LABELS.uniform).toMatch(/^GDP \(CLT approximation, deepee\)/);
  });
});
